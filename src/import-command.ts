import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { CommandError } from './admin-commands.js';
import type { CommandRun } from './cli.js';
import { formatProblem, parseConfig } from './config/load-config.js';
import { writeWithBackup } from './files/write-with-backup.js';
import { ClientConfigError, readClientConfig } from './import/client-config.js';
import { planImport, type ImportPlan } from './import/plan-import.js';
import { MergeError, mergeImport, renderImport } from './import/servers-yaml.js';

export interface ImportOptions {
  /** The client config file to read. */
  readonly source: string | undefined;
  /** Merge into `configFile` instead of printing. */
  readonly write: boolean;
  readonly configFile: string;
}

/**
 * `mcp-gateway import FILE [--write]`: the servers of a client's config as servers.yaml entries,
 * on stdout, or merged into the config file (never replacing a server). Everything said about
 * the import (renames, what was left out, which variables to set) goes to stderr.
 */
export function runImport(
  options: ImportOptions,
  io: { out: (text: string) => void; err: (text: string) => void }
): number {
  const { source, configFile } = options;
  if (source === undefined) {
    throw new CommandError(
      'import needs the client config file: mcp-gateway import FILE [--write] [--config F]'
    );
  }
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CommandError(
      `cannot read ${source}: ${code === 'ENOENT' ? 'file not found' : (code ?? String(error))}`
    );
  }
  let plan: ImportPlan;
  try {
    const folder = path.dirname(path.resolve(source));
    plan = planImport(readClientConfig(text, source), {
      file: source,
      // `${workspaceFolder}` is the folder holding `.vscode/`.
      workspaceFolder: path.basename(folder) === '.vscode' ? path.dirname(folder) : folder,
      home: homedir()
    });
  } catch (error) {
    if (error instanceof ClientConfigError) throw new CommandError(error.message);
    throw error;
  }

  if (options.write) {
    const existing = existsSync(configFile) ? readFileSync(configFile, 'utf8') : '';
    let merged: string;
    try {
      merged = plan.entries.length === 0 ? existing : mergeImport(existing, plan, configFile);
    } catch (error) {
      if (error instanceof MergeError) throw new CommandError(error.message);
      throw error;
    }
    // What is written must load: a merge that breaks the file is refused before it is written.
    const check = parseConfig(merged, configFile, { env: {} });
    if (!check.ok) {
      throw new CommandError(
        `the merged ${configFile} would not load, so nothing was written:\n${check.problems.map(formatProblem).join('\n')}`
      );
    }
    if (plan.entries.length > 0) {
      let backup;
      try {
        backup = writeWithBackup(configFile, merged);
      } catch (error) {
        throw new CommandError((error as Error).message);
      }
      io.err(
        `wrote ${plan.entries.length} server(s) to ${configFile}${backup ? ` (the previous file is ${backup})` : ''}\n`
      );
    }
  } else {
    io.out(renderImport(plan, source));
  }
  io.err(summary(plan, source));
  return 0;
}

function summary(plan: ImportPlan, source: string): string {
  const lines: string[] = [];
  for (const note of plan.notes) lines.push(`note: ${note}`);
  if (plan.variables.length > 0) {
    lines.push(
      'Set these variables where the gateway runs (systemd: /etc/mcp-gateway/env; Compose: gateway.env;',
      'or export them before `mcp-gateway serve`), or in a dotenv file (chmod 600) named by the',
      "server's envFile. A server whose variable is unset stays unavailable until it is set:"
    );
    for (const variable of plan.variables) {
      lines.push(`  ${variable.name}  (${variable.servers.join(', ')}: ${variable.hint})`);
    }
  }
  const docker = plan.entries.filter(({ entry }) => entry.image !== undefined).length;
  const remote = plan.entries.filter(({ entry }) => entry.url !== undefined).length;
  lines.push(
    `imported ${plan.entries.length} server(s) from ${source} ` +
      `(${docker} Docker, ${plan.entries.length - docker - remote} local process, ${remote} remote)`
  );
  return `${lines.join('\n')}\n`;
}

/** `import` as the CLI runs it: a usage problem is exit 2, said on stderr. */
export const importCli: CommandRun = (words, flags, settings) => {
  const io = {
    out: (text: string) => process.stdout.write(text),
    err: (text: string) => process.stderr.write(text)
  };
  try {
    if (words.length > 1) throw new CommandError(`import takes one file, got: ${words.join(' ')}`);
    return Promise.resolve(
      runImport({ source: words[0], write: flags.write === true, configFile: settings.configFile }, io)
    );
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    process.stderr.write(`mcp-gateway: ${error.message}\n`);
    return Promise.resolve(2);
  }
};
