// install-autostart.sh run for real into a scratch root: the app, config, unit and state land
// where the unit expects them, the service manager and user database are called through
// recording stand-ins, and a fake Docker engine and a fake /healthz stand in for the real ones.
import { once } from 'node:events';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run, type RunResult } from '../support/deploy-tools.js';
import { ROOT } from '../support/gateway-process.js';

const STAND_INS = ['systemctl', 'useradd', 'usermod', 'userdel'] as const;

const EXAMPLE_CONFIG = 'servers:\n  example:\n    command: ["node", "server.js"]\n';

let dir: string;
/** A copy of the parts of the repository the installer reads, with a fresh build. */
let checkout: string;
/** The scratch root it installs into. */
let root: string;
let callsLog: string;
let engine: Server;
let health: Server;
let healthRequests = 0;
let port: number;
/** The Node.js 24 the installer is given (see {@link serviceVisibleNode}). */
let node: string;
/** The folder of a wrapper made by {@link serviceVisibleNode}, removed after the tests. */
let nodeWrapperDir: string | undefined;

/**
 * This test's Node.js as the installer accepts it. The installer refuses a Node.js under /tmp or a
 * home directory, which the unit's PrivateTmp and ProtectHome hide from the service; CI's Node.js
 * lives under the clone (often in /tmp) and a developer's under nvm in their home. Such a Node.js
 * is given through a wrapper script in /dev/shm, which the unit does not hide.
 */
function serviceVisibleNode(): string {
  if (!/^\/(tmp|var\/tmp|home|root|run\/user)\//.test(process.execPath)) return process.execPath;
  nodeWrapperDir = mkdtempSync('/dev/shm/mcp-gateway-test-node-');
  const wrapper = path.join(nodeWrapperDir, 'node');
  writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/** Calls the stand-ins recorded since the last look, one `command args…` per entry. */
function takeCalls(): string[] {
  const calls = existsSync(callsLog) ? readFileSync(callsLog, 'utf8').split('\n').filter(Boolean) : [];
  rmSync(callsLog, { force: true });
  return calls;
}

function installer(
  script: 'install-autostart.sh' | 'uninstall-autostart.sh',
  args: string[],
  env: Record<string, string> = {}
): Promise<RunResult> {
  return run(path.join(checkout, script), args, {
    env: {
      ...process.env,
      NODE: node,
      DOCKER_SOCKET: path.join(dir, 'docker.sock'),
      DOCKER_GROUP: 'docker',
      HEALTH_TIMEOUT: '10',
      // The fake gateway's /healthz: with --root, the installer waits only for one it is given.
      HEALTH_URL: `http://127.0.0.1:${port}/healthz`,
      ...Object.fromEntries(STAND_INS.map(name => [name.toUpperCase(), path.join(dir, 'bin', name)])),
      ...env
    },
    timeoutMs: 180_000
  });
}

const installed = (file: string) => path.join(root, file);

async function listen(server: Server, address: string | number): Promise<void> {
  server.listen(address as never);
  await once(server, 'listening');
}

beforeAll(async () => {
  node = serviceVisibleNode();
  dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-install-'));
  checkout = path.join(dir, 'checkout');
  root = path.join(dir, 'root');
  callsLog = path.join(dir, 'calls.log');
  mkdirSync(root);
  mkdirSync(path.join(checkout, 'src'), { recursive: true });
  for (const file of [
    'install-autostart.sh',
    'uninstall-autostart.sh',
    'mcp-gateway.service',
    'package.json',
    'package-lock.json'
  ]) {
    cpSync(path.join(ROOT, file), path.join(checkout, file), { preserveTimestamps: true });
  }
  // The example config of the checkout: this test's own, as the repository's is the user's to edit.
  writeFileSync(path.join(checkout, 'servers.yaml'), EXAMPLE_CONFIG);
  // A checkout whose build is newer than its sources (the repository's own may be mid-edit).
  writeFileSync(path.join(checkout, 'src', 'cli.ts'), '');
  const past = new Date(Date.now() - 60_000);
  utimesSync(path.join(checkout, 'src', 'cli.ts'), past, past);
  cpSync(path.join(ROOT, 'dist'), path.join(checkout, 'dist'), { recursive: true });

  // Stand-ins record their arguments; useradd and userdel keep the scratch root's user database.
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  for (const name of STAND_INS) {
    const effect =
      name === 'useradd'
        ? `mkdir -p '${root}/etc'; echo 'mcp-gateway:x:999:999::/var/lib/mcp-gateway:/usr/sbin/nologin' >> '${root}/etc/passwd'; echo 'docker:x:105:mcp-gateway' >> '${root}/etc/group'`
        : name === 'userdel'
          ? `sed -i '/^mcp-gateway:/d' '${root}/etc/passwd'`
          : ':';
    writeFileSync(
      path.join(bin, name),
      `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> '${callsLog}'\n${effect}\n`
    );
    chmodSync(path.join(bin, name), 0o755);
  }

  // A Docker engine that answers the installer's ping, and a gateway that answers /healthz.
  engine = createServer((request, response) => response.end(request.url === '/_ping' ? 'OK' : '{}'));
  await listen(engine, path.join(dir, 'docker.sock'));
  health = createServer((request, response) => {
    if (request.url === '/healthz') healthRequests++;
    response.setHeader('content-type', 'application/json').end('{"status":"ok"}');
  });
  await listen(health, 0);
  port = (health.address() as AddressInfo).port;
});

afterAll(() => {
  engine?.close();
  health?.close();
  rmSync(dir, { recursive: true, force: true });
  if (nodeWrapperDir) rmSync(nodeWrapperDir, { recursive: true, force: true });
});

beforeEach(() => {
  takeCalls();
});

describe('install-autostart.sh', () => {
  it('refuses to start without Node.js 24, a Docker engine, a current build, or stand-ins for --root, and changes nothing', async () => {
    const oldNode = path.join(dir, 'bin', 'node20');
    writeFileSync(oldNode, '#!/bin/sh\necho v20.19.0\n');
    chmodSync(oldNode, 0o755);
    const tooOld = await installer('install-autostart.sh', ['--root', root], { NODE: oldNode });
    expect(tooOld.code).toBe(1);
    expect(tooOld.stderr).toContain(`Node.js 24 or newer is needed; ${oldNode} is v20.19.0`);

    const noEngine = await installer('install-autostart.sh', ['--root', root], {
      DOCKER_SOCKET: path.join(dir, 'nothing.sock')
    });
    expect(noEngine.code).toBe(1);
    expect(noEngine.stderr).toContain(`no Docker engine answers on ${path.join(dir, 'nothing.sock')}`);

    utimesSync(path.join(checkout, 'src', 'cli.ts'), new Date(), new Date(Date.now() + 60_000));
    const stale = await installer('install-autostart.sh', ['--root', root]);
    const past = new Date(Date.now() - 60_000);
    utimesSync(path.join(checkout, 'src', 'cli.ts'), past, past);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("dist is older than src/: rebuild with 'npm run build'");

    const realSystemctl = await installer('install-autostart.sh', ['--root', root], {
      SYSTEMCTL: 'systemctl'
    });
    expect(realSystemctl.code).toBe(1);
    expect(realSystemctl.stderr).toContain('with --root, set SYSTEMCTL to a stand-in');

    // PrivateTmp=yes gives the service an empty /tmp: a Node.js there would not be found.
    const tmpNodeDir = mkdtempSync('/tmp/mcp-gateway-tmp-node-');
    try {
      const tmpNode = path.join(tmpNodeDir, 'node');
      writeFileSync(tmpNode, '#!/bin/sh\necho v24.1.0\n');
      chmodSync(tmpNode, 0o755);
      const inTmp = await installer('install-autostart.sh', ['--root', root], { NODE: tmpNode });
      expect(inTmp.code).toBe(1);
      expect(inTmp.stderr).toContain(
        `${tmpNode} is under /tmp, which the service cannot see (PrivateTmp=yes`
      );
    } finally {
      rmSync(tmpNodeDir, { recursive: true, force: true });
    }

    expect(takeCalls()).toEqual([]);
    expect(existsSync(installed('opt')) || existsSync(installed('etc'))).toBe(false);
  });

  it('--dry-run prints every step and changes nothing', async () => {
    const result = await installer('install-autostart.sh', ['--root', root, '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    const bin = path.join(dir, 'bin');
    expect(result.stdout).toContain(
      `[dry-run] ${bin}/useradd --system --user-group --home-dir /var/lib/mcp-gateway --no-create-home --shell /usr/sbin/nologin --groups docker mcp-gateway`
    );
    expect(result.stdout).toMatch(
      /\[dry-run\] env PATH=\S+ npm ci --prefix \S+\/opt\/mcp-gateway\.new --omit=dev/
    );
    expect(result.stdout).toContain(`[dry-run] ${bin}/systemctl enable mcp-gateway.service`);
    expect(result.stdout).toContain(`[dry-run] ${bin}/systemctl restart mcp-gateway.service`);
    expect(result.stdout).not.toContain('is installed');
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(/^==> dry run: nothing was changed/);
    const uninstall = await installer('install-autostart.sh', ['--root', root, '--uninstall', '--dry-run']);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    expect(uninstall.stdout).not.toContain('is uninstalled');
    expect(uninstall.stdout.trim().split('\n').at(-1)).toBe('==> dry run: nothing was changed');
    expect(takeCalls()).toEqual([]);
    expect(existsSync(installed('opt')) || existsSync(installed('etc'))).toBe(false);
  });

  it('installs the app with production dependencies, the config, the user and the unit, starts it, and prints the claude line', async () => {
    // A config directory with an env file already there (the port the fake gateway listens on).
    mkdirSync(installed('etc/mcp-gateway'), { recursive: true });
    const env = `# mine\nGATEWAY_PORT=${port}\n`;
    writeFileSync(installed('etc/mcp-gateway/env'), env);

    const started = performance.now();
    const result = await installer('install-autostart.sh', ['--root', root]);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    expect(result.code, result.stderr).toBe(0);
    console.log(`[install-script] first install (npm ci --omit=dev included) took ${seconds} s`);

    expect(takeCalls()).toEqual([
      'useradd --system --user-group --home-dir /var/lib/mcp-gateway --no-create-home --shell /usr/sbin/nologin --groups docker mcp-gateway',
      'systemctl daemon-reload',
      'systemctl enable mcp-gateway.service',
      'systemctl restart mcp-gateway.service'
    ]);
    expect(healthRequests).toBeGreaterThan(0);
    expect(result.stdout).toContain(`claude mcp add --transport http gateway http://127.0.0.1:${port}/mcp`);

    // The app: the build and only the production dependencies, and it runs.
    expect(readFileSync(installed('opt/mcp-gateway/dist/cli.js'), 'utf8')).toBe(
      readFileSync(path.join(checkout, 'dist/cli.js'), 'utf8')
    );
    expect(existsSync(installed('opt/mcp-gateway/node_modules/dockerode/package.json'))).toBe(true);
    expect(existsSync(installed('opt/mcp-gateway/node_modules/typescript'))).toBe(false);
    expect(existsSync(installed('opt/mcp-gateway.new')) || existsSync(installed('opt/mcp-gateway.old'))).toBe(
      false
    );
    const version = await run(process.execPath, [installed('opt/mcp-gateway/dist/cli.js'), '--version']);
    expect(version.stdout.trim()).toBe(
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version
    );

    // The config: the example where there was none, the existing env file untouched.
    expect(readFileSync(installed('etc/mcp-gateway/servers.yaml'), 'utf8')).toBe(EXAMPLE_CONFIG);
    expect(readFileSync(installed('etc/mcp-gateway/env'), 'utf8')).toBe(env);

    // The unit: the repository's, running the Node.js the installer checked.
    expect(readFileSync(installed('etc/systemd/system/mcp-gateway.service'), 'utf8')).toBe(
      readFileSync(path.join(ROOT, 'mcp-gateway.service'), 'utf8')
        .replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${node} `)
        .replace(/^Environment=PATH=/m, `Environment=PATH=${path.dirname(node)}:`)
    );
  });

  it('re-running keeps a changed config, reuses the dependencies, and only reloads, enables and restarts', async () => {
    const config = `${readFileSync(installed('etc/mcp-gateway/servers.yaml'), 'utf8')}# edited\n`;
    writeFileSync(installed('etc/mcp-gateway/servers.yaml'), config);
    const started = performance.now();
    const result = await installer('install-autostart.sh', ['--root', root]);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    expect(result.code, result.stderr).toBe(0);
    console.log(`[install-script] re-run took ${seconds} s`);

    expect(takeCalls()).toEqual([
      'systemctl daemon-reload',
      'systemctl enable mcp-gateway.service',
      'systemctl restart mcp-gateway.service'
    ]);
    expect(result.stdout).toContain('production dependencies unchanged: reusing them');
    expect(result.stdout).toContain('keeping /etc/mcp-gateway/servers.yaml');
    expect(readFileSync(installed('etc/mcp-gateway/servers.yaml'), 'utf8')).toBe(config);
    expect(existsSync(installed('opt/mcp-gateway/node_modules/dockerode/package.json'))).toBe(true);
  });

  it("checks the config with the new build and the env file before replacing anything, and reads the gateway's port from it", async () => {
    const configFile = installed('etc/mcp-gateway/servers.yaml');
    const envFile = installed('etc/mcp-gateway/env');
    const [config, env] = [readFileSync(configFile, 'utf8'), readFileSync(envFile, 'utf8')];
    chmodSync(installed('etc/mcp-gateway'), 0o750);
    try {
      // The port only in the config, and a secret only in the env file: both as the service sees them.
      writeFileSync(envFile, 'DOCS_TOKEN=from-the-env-file\n');
      writeFileSync(
        configFile,
        `gateway:\n  port: ${port}\nservers:\n  docs:\n    command: ["node", "server.js"]\n    env: { TOKEN: "\${DOCS_TOKEN}" }\n`
      );
      const good = await installer('install-autostart.sh', ['--root', root]);
      expect(good.code, good.stderr).toBe(0);
      expect(good.stderr).not.toContain('DOCS_TOKEN not set');
      expect(good.stdout).toContain(`claude mcp add --transport http gateway http://127.0.0.1:${port}/mcp`);
      // The directory keeps the mode its owner gave it.
      expect(statSync(installed('etc/mcp-gateway')).mode & 0o777).toBe(0o750);

      // A config the new build refuses: the installed app and the service are left as they were.
      const app = readFileSync(installed('opt/mcp-gateway/dist/cli.js'), 'utf8');
      writeFileSync(installed('opt/mcp-gateway/dist/marker'), 'the running install');
      takeCalls();
      writeFileSync(configFile, 'servers:\n  docs: { command: 42 }\n');
      const bad = await installer('install-autostart.sh', ['--root', root]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('servers.yaml has the problems above');
      expect(bad.stderr).toContain('nothing was replaced');
      expect(readFileSync(installed('opt/mcp-gateway/dist/marker'), 'utf8')).toBe('the running install');
      expect(readFileSync(installed('opt/mcp-gateway/dist/cli.js'), 'utf8')).toBe(app);
      expect(existsSync(installed('opt/mcp-gateway.new'))).toBe(false);
      expect(takeCalls().filter(call => call.startsWith('systemctl'))).toEqual([]);
    } finally {
      writeFileSync(configFile, config);
      writeFileSync(envFile, env);
      rmSync(installed('opt/mcp-gateway/dist/marker'), { force: true });
    }
  });

  it("checks the config in the service's environment only: a variable or port of the installer's shell is not the service's", async () => {
    const configFile = installed('etc/mcp-gateway/servers.yaml');
    const envFile = installed('etc/mcp-gateway/env');
    const [config, env] = [readFileSync(configFile, 'utf8'), readFileSync(envFile, 'utf8')];
    try {
      writeFileSync(envFile, '# nothing for the service\n');
      writeFileSync(
        configFile,
        `gateway:\n  port: ${port}\nservers:\n  docs:\n    command: ["node", "server.js"]\n    env: { TOKEN: "\${DOCS_TOKEN}" }\n`
      );
      // As with `sudo -E`: the shell has the secret and a port, which systemd will not give the service.
      const result = await installer('install-autostart.sh', ['--root', root], {
        DOCS_TOKEN: 'only-in-my-shell',
        GATEWAY_PORT: '1'
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('DOCS_TOKEN not set');
      expect(result.stdout).toContain(`claude mcp add --transport http gateway http://127.0.0.1:${port}/mcp`);
      // The unit's PATH, the one validation ran with: the service's Node.js first.
      expect(readFileSync(installed('etc/systemd/system/mcp-gateway.service'), 'utf8')).toContain(
        `Environment=PATH=${path.dirname(node)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n`
      );
    } finally {
      writeFileSync(configFile, config);
      writeFileSync(envFile, env);
    }
  });

  it("with --root and no HEALTH_URL, does not wait on this machine's port, where nothing of the scratch tree runs", async () => {
    // A port nothing listens on, and the default 30 s: the old installer waited all of it, then failed.
    const envFile = installed('etc/mcp-gateway/env');
    const env = readFileSync(envFile, 'utf8');
    writeFileSync(envFile, 'GATEWAY_PORT=1\n');
    try {
      const started = performance.now();
      const result = await installer('install-autostart.sh', ['--root', root], {
        HEALTH_URL: '',
        HEALTH_TIMEOUT: ''
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('not waiting for /healthz');
      expect(result.stdout).toContain('claude mcp add --transport http gateway http://127.0.0.1:1/mcp');
      expect(performance.now() - started).toBeLessThan(20_000);
      takeCalls();
    } finally {
      writeFileSync(envFile, env);
    }
  });

  it('adds an existing user to the socket group when it is not in it yet', async () => {
    const result = await installer('install-autostart.sh', ['--root', root, '--no-start'], {
      DOCKER_GROUP: 'docker-other'
    });
    expect(result.code, result.stderr).toBe(0);
    expect(takeCalls()).toEqual([
      'usermod --append --groups docker-other mcp-gateway',
      'systemctl daemon-reload',
      'systemctl enable mcp-gateway.service'
    ]);
    expect(result.stdout).toContain('not started (--no-start)');
  });

  it('uninstall-autostart.sh removes the unit and the app, keeps config, state and user, and is idempotent', async () => {
    mkdirSync(installed('var/lib/mcp-gateway'), { recursive: true });
    writeFileSync(installed('var/lib/mcp-gateway/gateway.db'), 'state');

    const result = await installer('uninstall-autostart.sh', ['--root', root]);
    expect(result.code, result.stderr).toBe(0);
    expect(takeCalls()).toEqual(['systemctl disable --now mcp-gateway.service', 'systemctl daemon-reload']);
    expect(existsSync(installed('etc/systemd/system/mcp-gateway.service'))).toBe(false);
    expect(existsSync(installed('opt/mcp-gateway'))).toBe(false);
    expect(existsSync(installed('etc/mcp-gateway/servers.yaml'))).toBe(true);
    expect(existsSync(installed('etc/mcp-gateway/env'))).toBe(true);
    expect(existsSync(installed('var/lib/mcp-gateway/gateway.db'))).toBe(true);
    expect(readFileSync(installed('etc/passwd'), 'utf8')).toContain('mcp-gateway:');

    const again = await installer('uninstall-autostart.sh', ['--root', root]);
    expect(again.code, again.stderr).toBe(0);
    expect(takeCalls()).toEqual([]);
  });

  it('--uninstall --purge removes config, state and the user too', async () => {
    const refused = await installer('install-autostart.sh', ['--root', root, '--purge']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--purge goes with --uninstall');

    const result = await installer('install-autostart.sh', ['--root', root, '--uninstall', '--purge']);
    expect(result.code, result.stderr).toBe(0);
    expect(takeCalls()).toEqual(['userdel mcp-gateway']);
    expect(existsSync(installed('etc/mcp-gateway'))).toBe(false);
    expect(existsSync(installed('var/lib/mcp-gateway'))).toBe(false);
    expect(readFileSync(installed('etc/passwd'), 'utf8')).not.toContain('mcp-gateway:');
  });
});
