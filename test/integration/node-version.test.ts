import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../support/gateway-process.js';

/**
 * A Node.js older than 24: the machine's own (Debian's /usr/bin/node is 20 on these machines), or
 * the one .ci/run installs into .tools/node20 when the machine has none.
 */
function findOldNode(): string | undefined {
  const candidates = [
    process.env.MCP_GATEWAY_OLD_NODE,
    '/usr/bin/node',
    '/usr/local/bin/node',
    path.join(ROOT, '.tools', 'node20', 'node_modules', '.bin', 'node')
  ];
  for (const candidate of candidates) {
    if (!candidate || !existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    if (version.status === 0 && Number(version.stdout.split('.')[0]) < 24) return candidate;
  }
  return undefined;
}

const oldNode = findOldNode();
if (!oldNode) {
  if (process.env.CI === 'true') {
    throw new Error('no Node.js older than 24 found (.ci/run installs one into .tools/node20)');
  }
  console.warn('\n*** node-version: SKIPPED — no Node.js older than 24 on this machine. ***\n');
}

const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-node-version-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NEEDED = /Node\.js 24 or newer is needed; this is Node\.js 2\d\./;

describe.runIf(oldNode !== undefined)('on a Node.js older than 24', () => {
  const node = oldNode!;
  const run = (args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
    spawnSync(args[0]!, args.slice(1), {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env
    });

  it('the bin says Node.js 24 is needed and exits 1, for every command', () => {
    for (const command of [[], ['validate'], ['token', 'list'], ['--version']]) {
      const result = run([node, CLI, ...command, '--state-dir', path.join(dir, 'data')]);
      expect(result.stderr).toMatch(NEEDED);
      expect(result.stderr).not.toContain('node:sqlite');
      expect(result.status).toBe(1);
    }
  });

  it('npm start says so before building or serving', () => {
    const result = run([node, path.join(ROOT, 'scripts', 'start.mjs'), 'serve', '--port', '0']);
    expect(result.stderr).toMatch(NEEDED);
    expect(result.status).toBe(1);
  });

  it('npm test says so before running anything', () => {
    // In a copy holding only package.json and the check: were the check missing, `npm test` would
    // fail on the absent tools instead of running this project's suite inside its own test.
    const copy = path.join(dir, 'project');
    mkdirSync(path.join(copy, 'scripts'), { recursive: true });
    copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
    copyFileSync(path.join(ROOT, 'scripts', 'check-node.mjs'), path.join(copy, 'scripts', 'check-node.mjs'));
    // npm runs scripts with the first `node` on the PATH: the old one.
    const env = { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}` };
    const npm = existsSync(path.join(path.dirname(node), 'npm'))
      ? path.join(path.dirname(node), 'npm')
      : 'npm';
    const result = run([npm, 'test', '--silent'], { cwd: copy, env });
    expect(result.stderr).toMatch(NEEDED);
    expect(result.status).not.toBe(0);
  });
});
