import { exposureProblem, listenHost } from './config/exposure.js';
import { formatProblem, loadConfigFile } from './config/load-config.js';
import { missingCommandWarnings } from './config/missing-commands.js';
import { secretFileWarnings } from './config/secret-files.js';
import { EXIT_CONFIG, type Settings } from './settings.js';

/**
 * `mcp-gateway validate`: the checks `serve` makes before it starts anything (the file, and how
 * the settings would expose it), then a summary line per server and exit 0; or every problem,
 * located, and the exit status `serve` refuses with (78).
 */
export async function runValidate(
  _words: readonly string[],
  _flags: unknown,
  settings: Settings
): Promise<number> {
  const file = settings.configFile;
  const result = await loadConfigFile(file, {
    env: process.env,
    defaultIdleTimeout: settings.defaultIdleTimeout
  });
  if (!result.ok) {
    for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return EXIT_CONFIG;
  }
  const { raw, servers } = result.config;
  const host = listenHost(settings, raw.gateway);
  const exposed = exposureProblem({
    host,
    mode: raw.gateway.auth.mode,
    allowUnauthenticated: settings.allowUnauthenticated
  });
  if (exposed) {
    process.stderr.write(`mcp-gateway: ${exposed}\n`);
    return EXIT_CONFIG;
  }
  for (const id of Object.keys(raw.servers)) {
    const spec = servers.find(s => s.id === id);
    if (!spec) {
      process.stdout.write(`${id}: disabled\n`);
      continue;
    }
    const what =
      spec.kind === 'docker'
        ? `docker ${spec.image}`
        : spec.kind === 'process'
          ? `process ${spec.command.join(' ')}`
          : `remote ${spec.remote.url.origin}${spec.remote.url.pathname}`;
    const idle = spec.idleTimeoutMs === 0 ? 'never' : `${spec.idleTimeoutMs / 1000}s`;
    const prefix = spec.namespace === '' ? '(no prefix)' : `${spec.namespace}__*`;
    const note = spec.unavailable ? `; UNAVAILABLE: ${spec.unavailable}` : '';
    process.stdout.write(
      `${id}: ${what}; tools ${prefix}; idle ${idle}; call timeout ${spec.callTimeoutMs / 1000}s${note}\n`
    );
  }
  for (const warning of [
    ...result.config.warnings,
    ...secretFileWarnings(file, raw),
    ...missingCommandWarnings(servers, process.env)
  ]) {
    process.stderr.write(`warning: ${warning}\n`);
  }
  // Where `serve` with these settings would listen (the installer reads the port from this line).
  process.stdout.write(`gateway: listens on ${host}:${settings.port ?? raw.gateway.port ?? 8000}\n`);
  process.stdout.write(`${file}: ${servers.length} of ${Object.keys(raw.servers).length} servers enabled\n`);
  return 0;
}
