#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { CommandError, runAdminCommand } from './admin-commands.js';
import { formatProblem, loadConfigFile } from './config/load-config.js';
import { secretFileWarnings } from './config/secret-files.js';
import { ConfigError, startGateway } from './gateway.js';
import { createLogger } from './log.js';
import { UnsafeStartError } from './security.js';
import { resolveSettings, SettingsError } from './settings.js';
import { VERSION } from './version.js';

/**
 * Exit status for a configuration the gateway refuses (sysexits' EX_CONFIG): retrying cannot help,
 * so the systemd unit lists it in RestartPreventExitStatus.
 */
const EXIT_CONFIG = 78;

const USAGE = `mcp-gateway ${VERSION}: one MCP endpoint in front of many MCP servers

Usage:
  mcp-gateway [serve] [options]     run the gateway (the default command)
  mcp-gateway validate [--config F] check a servers.yaml and exit
  mcp-gateway token create --name NAME [--servers a,b] [--tools 'glob,...'] [--expires 90d] [--admin]
  mcp-gateway token list
  mcp-gateway token revoke NAME|ID
  mcp-gateway admin set-password    (reads it from a prompt, or the first line of stdin)

Options (flags beat environment variables, which beat defaults):
  --config <file>          server registry        MCP_GATEWAY_CONFIG   ./servers.yaml
  --port <n>               listen port            GATEWAY_PORT         8000
  --host <addr>            listen address         GATEWAY_HOST         127.0.0.1
  --state-dir <dir>        catalog and state      STATE_DIR            ./data
  --log-level <level>      fatal..trace, silent   LOG_LEVEL            info
  --allowed-hosts <list>   extra Host names       GATEWAY_ALLOWED_HOSTS
  --allowed-origins <list> extra Origin hosts     GATEWAY_ALLOWED_ORIGINS
  --allow-unauthenticated  serve beyond loopback without auth   GATEWAY_ALLOW_UNAUTHENTICATED=true
  (environment only)       idle timeout default   DEFAULT_IDLE_TIMEOUT (seconds)
  (environment only)       shutdown drain         SHUTDOWN_DRAIN (seconds, 10)
  -h, --help, -v, --version
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'state-dir': { type: 'string' },
      'log-level': { type: 'string' },
      'allowed-hosts': { type: 'string' },
      'allowed-origins': { type: 'string' },
      'allow-unauthenticated': { type: 'boolean' },
      name: { type: 'string' },
      servers: { type: 'string' },
      tools: { type: 'string' },
      expires: { type: 'string' },
      admin: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' }
    }
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = positionals[0] ?? 'serve';
  const settings = resolveSettings(values, process.env);
  if (command === 'token' || command === 'admin') {
    try {
      return await runAdminCommand(
        positionals,
        { ...values, stateDir: settings.stateDir },
        { out: text => process.stdout.write(text), stdin: process.stdin }
      );
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      process.stderr.write(`mcp-gateway: ${error.message}\n`);
      return 2;
    }
  }
  if (positionals.length > 1 || (command !== 'serve' && command !== 'validate')) {
    process.stderr.write(`unknown command: ${positionals.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  if (command === 'validate') return validate(settings.configFile, settings.defaultIdleTimeout);
  return serve(settings);
}

/** `validate`: a summary line per server and exit 0, or every problem located and exit 1. */
async function validate(file: string, defaultIdleTimeout: number | undefined): Promise<number> {
  const result = await loadConfigFile(file, { env: process.env, defaultIdleTimeout });
  if (!result.ok) {
    for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return 1;
  }
  const { raw, servers } = result.config;
  for (const id of Object.keys(raw.servers)) {
    const spec = servers.find(s => s.id === id);
    if (!spec) {
      process.stdout.write(`${id}: disabled\n`);
      continue;
    }
    const what = spec.runtime === 'docker' ? `docker ${spec.image}` : `process ${spec.command?.join(' ')}`;
    const idle = spec.idleTimeoutMs === 0 ? 'never' : `${spec.idleTimeoutMs / 1000}s`;
    const prefix = spec.namespace === '' ? '(no prefix)' : `${spec.namespace}__*`;
    const note = spec.unavailable ? `; UNAVAILABLE: ${spec.unavailable}` : '';
    process.stdout.write(
      `${id}: ${what}; tools ${prefix}; idle ${idle}; call timeout ${spec.callTimeoutMs / 1000}s${note}\n`
    );
  }
  for (const warning of [...result.config.warnings, ...secretFileWarnings(file, raw)]) {
    process.stderr.write(`warning: ${warning}\n`);
  }
  process.stdout.write(`${file}: ${servers.length} of ${Object.keys(raw.servers).length} servers enabled\n`);
  return 0;
}

async function serve(settings: ReturnType<typeof resolveSettings>): Promise<number> {
  const log = createLogger(settings.logLevel);
  let gateway;
  try {
    gateway = await startGateway(settings, log);
  } catch (error) {
    log.flush();
    if (error instanceof UnsafeStartError) {
      process.stderr.write(`mcp-gateway: ${error.message}\n`);
      log.fatal({ err: error.message }, 'refusing to start');
      return EXIT_CONFIG;
    }
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`${problem}\n`);
      log.fatal({ problems: error.problems.length }, 'refusing to start: the config is invalid');
      return EXIT_CONFIG;
    }
    log.fatal({ err: error instanceof Error ? error.message : String(error) }, 'failed to start');
    return 1;
  }
  const running = gateway;
  return new Promise(resolve => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      log.info({ signal }, 'signal received');
      void running.close().then(
        () => resolve(0),
        (error: unknown) => {
          log.error({ err: String(error) }, 'shutdown failed');
          resolve(1);
        }
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

main(process.argv.slice(2)).then(
  code => {
    process.exitCode = code;
    // Anything still holding the loop (a stuck socket) must not keep a stopped gateway alive.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (error: unknown) => {
    const message =
      error instanceof SettingsError || error instanceof TypeError ? error.message : String(error);
    process.stderr.write(`mcp-gateway: ${message}\n`);
    process.exitCode = 2;
  }
);
