import { formatProblem, loadConfigFile } from './config/load-config.js';
import { secretFileWarnings } from './config/secret-files.js';
import type { Settings } from './settings.js';

/**
 * `mcp-gateway validate`: a summary line per server and exit 0, or every problem located and exit 1.
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
