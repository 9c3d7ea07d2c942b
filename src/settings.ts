import { LOG_LEVELS, type LogLevel } from './log.js';

/**
 * Exit status for a configuration the gateway refuses (sysexits' EX_CONFIG): retrying cannot help,
 * so the systemd unit lists it in RestartPreventExitStatus.
 */
export const EXIT_CONFIG = 78;

/** Everything `serve` needs besides the config file's contents. */
export interface Settings {
  readonly configFile: string;
  /** Undefined when neither flag nor environment says: then the file's `gateway.port`, else 8000. */
  readonly port: number | undefined;
  /** Likewise: then `gateway.host`, else 127.0.0.1. */
  readonly host: string | undefined;
  readonly stateDir: string;
  readonly logLevel: LogLevel;
  /** Overrides the file's `defaults.idleTimeout` (seconds). */
  readonly defaultIdleTimeout: number | undefined;
  /** Seconds shutdown waits for calls in flight before answering them with an error; undefined: 10. */
  readonly shutdownDrain: number | undefined;
  /** Extra hostnames the Host header may name (beyond the loopback names); undefined: the file's. */
  readonly allowedHosts: readonly string[] | undefined;
  /** Extra hostnames a browser Origin may name (beyond the loopback names); undefined: the file's. */
  readonly allowedOrigins: readonly string[] | undefined;
  /** Serve without authentication beyond loopback (`--allow-unauthenticated`). */
  readonly allowUnauthenticated: boolean;
  /** Move a damaged state database aside and start an empty one, instead of refusing (`--reset-damaged-state`). */
  readonly resetDamagedState: boolean;
  /** Reload servers.yaml when it changes; `GATEWAY_WATCH_CONFIG=false` turns it off (SIGHUP and the API still reload). */
  readonly watchConfig: boolean;
}

/** The `serve` flags as parsed from the command line; absent ones are undefined. */
export interface SettingFlags {
  readonly config?: string | undefined;
  readonly port?: string | undefined;
  readonly host?: string | undefined;
  readonly 'state-dir'?: string | undefined;
  readonly 'log-level'?: string | undefined;
  readonly 'allowed-hosts'?: string | undefined;
  readonly 'allowed-origins'?: string | undefined;
  readonly 'allow-unauthenticated'?: boolean | undefined;
  readonly 'reset-damaged-state'?: boolean | undefined;
}

/** A bad flag or environment value, said in one line. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

/** Resolves settings: flags beat environment variables, which beat the defaults. */
export function resolveSettings(
  flags: SettingFlags,
  env: Readonly<Record<string, string | undefined>>
): Settings {
  const pick = (flag: string | undefined, variable: string) => flag ?? nonEmpty(env[variable]);
  const port = pick(flags.port, 'GATEWAY_PORT');
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) > 65535)) {
    throw new SettingsError(`port must be a number from 0 to 65535, got ${JSON.stringify(port)}`);
  }
  const logLevel = pick(flags['log-level'], 'LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new SettingsError(
      `log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`
    );
  }
  const idle = nonEmpty(env.DEFAULT_IDLE_TIMEOUT);
  if (idle !== undefined && !/^\d+(?:\.\d+)?$/.test(idle)) {
    throw new SettingsError(`DEFAULT_IDLE_TIMEOUT must be a number of seconds, got ${JSON.stringify(idle)}`);
  }
  const drain = nonEmpty(env.SHUTDOWN_DRAIN);
  if (drain !== undefined && !/^\d+(?:\.\d+)?$/.test(drain)) {
    throw new SettingsError(`SHUTDOWN_DRAIN must be a number of seconds, got ${JSON.stringify(drain)}`);
  }
  return {
    configFile: pick(flags.config, 'MCP_GATEWAY_CONFIG') ?? './servers.yaml',
    port: port === undefined ? undefined : Number(port),
    host: unbracketed(pick(flags.host, 'GATEWAY_HOST')),
    stateDir: pick(flags['state-dir'], 'STATE_DIR') ?? './data',
    logLevel: logLevel as LogLevel,
    defaultIdleTimeout: idle === undefined ? undefined : Number(idle),
    shutdownDrain: drain === undefined ? undefined : Number(drain),
    allowedHosts: list(pick(flags['allowed-hosts'], 'GATEWAY_ALLOWED_HOSTS')),
    allowedOrigins: list(pick(flags['allowed-origins'], 'GATEWAY_ALLOWED_ORIGINS')),
    allowUnauthenticated:
      flags['allow-unauthenticated'] === true || trueOrFalse(env, 'GATEWAY_ALLOW_UNAUTHENTICATED', false),
    resetDamagedState:
      flags['reset-damaged-state'] === true || trueOrFalse(env, 'GATEWAY_RESET_DAMAGED_STATE', false),
    watchConfig: trueOrFalse(env, 'GATEWAY_WATCH_CONFIG', true)
  };
}

/**
 * A switch from the environment: `true` or `false` (unset or empty: `fallback`). Anything else is
 * refused rather than guessed at, as `yes` once silently meant false and `maybe` true.
 */
function trueOrFalse(
  env: Readonly<Record<string, string | undefined>>,
  variable: string,
  fallback: boolean
): boolean {
  const value = nonEmpty(env[variable]);
  if (value === undefined) return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new SettingsError(`${variable} must be true or false, got ${JSON.stringify(value)}`);
}

/** `[::1]`, as an IPv6 address is written in a URL, is the address `::1` to listen on. */
function unbracketed(host: string | undefined): string | undefined {
  return host?.replace(/^\[(.*)\]$/, '$1');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map(item => item.trim())
    .filter(item => item.length > 0);
}
