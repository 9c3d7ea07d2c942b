import { routeConsoleToLog } from './console-to-log.js';
import { ConfigError, startGateway } from './gateway.js';
import { createLogger } from './log.js';
import { UnsafeStartError } from './security.js';
import { EXIT_CONFIG, type Settings } from './settings.js';
import { StoreError } from './store/store-error.js';

/** A signal within this long of the first is taken for the same request (see below). */
const REPEAT_SIGNAL_GRACE_MS = 2_000;

/**
 * `mcp-gateway serve`: runs the gateway until a signal, then shuts it down. Resolves to the exit
 * status: 0 after a clean shutdown, 78 for a refused config, a damaged state database or a state directory another gateway holds, 1 for any other failure.
 */
export async function runServe(
  _words: readonly string[],
  _flags: unknown,
  settings: Settings
): Promise<number> {
  const log = createLogger(settings.logLevel);
  routeConsoleToLog(log);
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
    if (error instanceof StoreError && error.code === 'locked') {
      process.stderr.write(`mcp-gateway: ${error.message}\n`);
      log.fatal({ err: error.message }, 'refusing to start: another gateway holds the state directory');
      return EXIT_CONFIG;
    }
    if (error instanceof StoreError) {
      process.stderr.write(`mcp-gateway: ${error.message}\n`);
      log.fatal({ err: error.message }, 'refusing to start: the state database cannot be used');
      return EXIT_CONFIG;
    }
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`${problem}\n`);
      // Each problem in the log line too: a log shipper keeps only JSON lines.
      log.fatal({ problems: error.problems }, 'refusing to start: the config is invalid');
      return EXIT_CONFIG;
    }
    log.fatal({ err: error instanceof Error ? error.message : String(error) }, 'failed to start');
    return 1;
  }
  const running = gateway;
  return new Promise(resolve => {
    let firstAt: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (firstAt !== undefined) {
        // Ctrl-C on `npm start` is two signals: the terminal's, to the whole process group, and
        // npm's forwarded copy. A repeat that close to the first is that echo, not an "exit now".
        if (performance.now() - firstAt < REPEAT_SIGNAL_GRACE_MS) {
          log.debug({ signal }, 'repeated signal ignored: shutting down already');
          return;
        }
        log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      firstAt = performance.now();
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
    // SIGHUP reloads servers.yaml, as daemons do; it no longer stops the gateway (run it under
    // nohup or a service manager if a closing terminal should not reach it).
    process.on('SIGHUP', () => {
      if (firstAt !== undefined) return;
      log.info({ signal: 'SIGHUP' }, 'SIGHUP: reloading the config');
      void running.reload('signal');
    });
  });
}
