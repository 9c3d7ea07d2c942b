// docker-compose.yml, as Compose itself reads it (`docker-compose config`, Debian's
// docker-compose package): valid, and publishing the gateway to this machine only.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { requireTool, run } from '../support/deploy-tools.js';
import { ROOT } from '../support/gateway-process.js';

interface ComposeConfig {
  services: Record<
    string,
    {
      build?: { context?: string; args?: Record<string, string> };
      image?: string;
      restart?: string;
      ports?: (string | { host_ip?: string; published?: string | number; target?: number })[];
      volumes?: (string | { source?: string; target?: string; read_only?: boolean; type?: string })[];
      group_add?: (string | number)[];
      environment?: Record<string, string>;
      init?: boolean;
      cap_drop?: string[];
      stop_grace_period?: string;
    }
  >;
  volumes?: Record<string, unknown>;
}

let scratch: string;

/**
 * `docker-compose config` of the repository's compose file in a directory of its own beside
 * `files` (so no .env of a developer's checkout leaks in), parsed; fails when Compose rejects it.
 */
async function composeConfig(
  env: Record<string, string> = {},
  files: Record<string, string> = {}
): Promise<{ dir: string; config: ComposeConfig }> {
  const dir = mkdtempSync(path.join(scratch, 'project-'));
  cpSync(path.join(ROOT, 'docker-compose.yml'), path.join(dir, 'docker-compose.yml'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const { DOCKER_GID: _gid, LOG_LEVEL: _level, NODE_IMAGE: _image, ...inherited } = process.env;
  const result = await run('docker-compose', ['config'], { cwd: dir, env: { ...inherited, ...env } });
  expect(result.stderr).not.toMatch(/ERROR|invalid/i);
  expect(result.code, result.stderr).toBe(0);
  return { dir, config: parse(result.stdout) as ComposeConfig };
}

describe.skipIf(!requireTool('docker-compose', 'docker-compose.yml', 'apt package docker-compose'))(
  'docker-compose.yml',
  () => {
    beforeAll(() => {
      scratch = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-compose-'));
    });
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it('is valid and runs the gateway built here, on 127.0.0.1:8000 only, with the socket, a read-only config and a named state volume', async () => {
      const { dir, config } = await composeConfig({ DOCKER_GID: '4242' });
      const gateway = config.services.gateway!;
      expect(gateway.build?.context).toBe(dir);
      expect(gateway.restart).toBe('unless-stopped');
      // Compose writes ports in its short form (v1) or long form (v2).
      expect(gateway.ports).toHaveLength(1);
      const port = gateway.ports![0]!;
      if (typeof port === 'string') expect(port).toMatch(/^127\.0\.0\.1:8000:8000(\/tcp)?$/);
      else expect(port).toMatchObject({ host_ip: '127.0.0.1', published: expect.anything(), target: 8000 });

      const volumes = (gateway.volumes ?? []).map(volume =>
        typeof volume === 'string'
          ? volume
          : `${volume.source}:${volume.target}:${volume.read_only ? 'ro' : 'rw'}`
      );
      expect(volumes).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^\/var\/run\/docker\.sock:\/var\/run\/docker\.sock(:rw)?$/),
          `${path.join(dir, 'servers.yaml')}:/etc/mcp-gateway/servers.yaml:ro`,
          expect.stringMatching(/^mcp-gateway-data:\/data(:rw)?$/)
        ])
      );
      expect(config.volumes).toHaveProperty('mcp-gateway-data');
      expect(gateway.group_add?.map(String)).toEqual(['4242']);
      expect(gateway).toMatchObject({ init: true, cap_drop: ['ALL'] });
      // Unauthenticated on 0.0.0.0 inside the container, only because the port is on 127.0.0.1.
      expect(gateway.environment).toMatchObject({ GATEWAY_ALLOW_UNAUTHENTICATED: 'true' });
    });

    it('builds on node:24-slim, or on the NODE_IMAGE that .env names (no Docker Hub needed)', async () => {
      const { config } = await composeConfig();
      expect(config.services.gateway!.build?.args).toEqual({ NODE_IMAGE: 'node:24-slim' });
      const offline = await composeConfig({}, { '.env': 'NODE_IMAGE=registry.internal/node:24-slim\n' });
      expect(offline.config.services.gateway!.build?.args).toEqual({
        NODE_IMAGE: 'registry.internal/node:24-slim'
      });
    });

    it('falls back to group 999 for the socket when DOCKER_GID is not set', async () => {
      const { config } = await composeConfig();
      expect(config.services.gateway!.group_add?.map(String)).toEqual(['999']);
    });

    it('takes secrets from gateway.env through the override the README describes', async () => {
      const { config } = await composeConfig(
        {},
        {
          'docker-compose.override.yml': 'services:\n  gateway:\n    env_file: gateway.env\n',
          'gateway.env': 'CONTEXT7_API_KEY=secret-value\n'
        }
      );
      expect(config.services.gateway!.environment).toMatchObject({
        CONTEXT7_API_KEY: 'secret-value',
        LOG_LEVEL: 'info'
      });
    });
  }
);
