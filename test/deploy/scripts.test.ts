// The deployment's static artifacts: every shell script passes shellcheck, and the systemd unit
// passes `systemd-analyze verify` and keeps the service contract the README describes.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, run } from '../support/deploy-tools.js';
import { ROOT } from '../support/gateway-process.js';

/** Shell scripts in the repository: `*.sh`, and files whose first line names sh or bash. */
function shellScripts(dir = ROOT): string[] {
  const skip = new Set(['node_modules', '.git', '.tools', 'dist', 'data', 'coverage']);
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return skip.has(entry.name) ? [] : shellScripts(file);
    if (!entry.isFile()) return [];
    if (entry.name.endsWith('.sh')) return [file];
    const firstLine = readFileSync(file, 'utf8').slice(0, 100).split('\n')[0] ?? '';
    return /^#!.*\b(?:ba)?sh\b/.test(firstLine) ? [file] : [];
  });
}

const UNIT = path.join(ROOT, 'mcp-gateway.service');

/** The unit's `Key=value` lines, by section (a repeated key keeps its last value). */
function unitDirectives(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const section = /^\[(\w+)\]$/.exec(line.trim());
    if (section) sections[section[1]!] = current = {};
    const directive = /^(\w+)=(.*)$/.exec(line.trim());
    // A directive given twice (Environment=) adds to the first, as systemd reads it.
    if (directive) {
      const [, key, value] = directive as unknown as [string, string, string];
      current[key] = current[key] === undefined ? value : `${current[key]} ${value}`;
    }
  }
  return sections;
}

const haveShellcheck = requireTool('shellcheck', 'shellcheck of the scripts', 'apt package shellcheck');

describe.skipIf(!haveShellcheck)('shell scripts', () => {
  const scripts = shellScripts();

  it('finds the install scripts and .ci/run among them', () => {
    const names = scripts.map(file => path.relative(ROOT, file));
    expect(names).toEqual(
      expect.arrayContaining(['install-autostart.sh', 'uninstall-autostart.sh', path.join('.ci', 'run')])
    );
  });

  it.each(scripts.map(file => [path.relative(ROOT, file), file]))('%s passes shellcheck', async (_, file) => {
    const result = await run('shellcheck', ['--external-sources', file]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('the systemd unit', () => {
  const unit = unitDirectives(readFileSync(UNIT, 'utf8'));

  it('runs the installed gateway as its own user after the Docker engine, with the config and state the installer sets up', () => {
    // After the network is up too: remote servers are discovered at start.
    expect(unit.Unit!.After!.split(' ')).toEqual(
      expect.arrayContaining(['docker.service', 'network-online.target'])
    );
    expect(unit.Unit!.Wants!.split(' ').sort()).toEqual(['docker.service', 'network-online.target']);
    // The installer puts the directory of the Node.js it checked at the head of this PATH.
    expect(unit.Service!.Environment).toMatch(
      /(^| )PATH=\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:/
    );
    expect(unit.Service).toMatchObject({
      User: 'mcp-gateway',
      ExecStart:
        '/usr/bin/node /opt/mcp-gateway/dist/cli.js serve --config /etc/mcp-gateway/servers.yaml --state-dir /var/lib/mcp-gateway',
      EnvironmentFile: '-/etc/mcp-gateway/env',
      StateDirectory: 'mcp-gateway',
      Restart: 'on-failure',
      KillMode: 'mixed'
    });
    expect(unit.Install).toEqual({ WantedBy: 'multi-user.target' });
  });

  it('sets the allocator settings the Dockerfile sets (large blocks returned to the system when freed)', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const settings = (text: string) => [...text.matchAll(/\b(MALLOC_\w+=\S+)/g)].map(match => match[1]);
    expect(settings(dockerfile)).toEqual(['MALLOC_MMAP_THRESHOLD_=16384', 'MALLOC_ARENA_MAX=2']);
    expect(settings(unit.Service!.Environment!)).toEqual(settings(dockerfile));
  });

  it('restarts soon after a failure and waits longer than the gateway drains before killing it', () => {
    expect(Number.parseInt(unit.Service!.RestartSec!, 10)).toBeLessThanOrEqual(5);
    // The gateway drains in-flight calls for up to 10 s, then stops containers (3 s grace each).
    expect(Number.parseInt(unit.Service!.TimeoutStopSec!, 10)).toBeGreaterThanOrEqual(20);
  });

  it('is hardened: no new privileges, a read-only system, no home directories, a private /tmp', () => {
    expect(unit.Service).toMatchObject({
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      CapabilityBoundingSet: ''
    });
    // V8 needs writable, executable memory; the state directory is the only writable path.
    expect(unit.Service).not.toHaveProperty('MemoryDenyWriteExecute');
    expect(unit.Service?.ReadWritePaths ?? '').toBe('');
  });

  describe.skipIf(!requireTool('systemd-analyze', 'systemd-analyze of the unit', 'apt package systemd'))(
    'systemd-analyze',
    () => {
      // verify checks that ExecStart's program exists: check a copy that runs this Node, as the
      // installer's copy does.
      let dir: string;
      let copy: string;
      beforeAll(() => {
        dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-unit-'));
        copy = path.join(dir, 'mcp-gateway.service');
        writeFileSync(
          copy,
          readFileSync(UNIT, 'utf8').replace(
            /^ExecStart=\/usr\/bin\/node /m,
            `ExecStart=${process.execPath} `
          )
        );
      });
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('verify finds nothing to complain about', async () => {
        const result = await run('systemd-analyze', ['verify', copy]);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
      });

      it('security rates its exposure OK or better', async () => {
        const result = await run('systemd-analyze', ['security', '--offline=yes', copy]);
        expect(result.code).toBe(0);
        const exposure = /Overall exposure level for .*: (\d+(?:\.\d+)?)/.exec(result.stdout)?.[1];
        expect(Number(exposure)).toBeLessThanOrEqual(4);
      });
    }
  );
});

describe('the files a checkout keeps out of version control', () => {
  it('include the secrets files the deployments read (.env, gateway.env)', () => {
    const ignored = readFileSync(path.join(ROOT, '.gitignore'), 'utf8')
      .split('\n')
      .map(line => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['.env', 'gateway.env']));
  });

  it('and the Docker build context holds no servers.yaml (it may hold literal secrets)', () => {
    const context = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8');
    expect(context).not.toMatch(/^!servers\.yaml$/m);
    expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).not.toMatch(/^COPY .*servers\.yaml/m);
  });
});
