import { statSync } from 'node:fs';
import path from 'node:path';
import { writtenOut } from './references.js';
import type { ConfigFile } from './schema.js';

/** Permission bits that let users other than the owner read a file (group or others). */
const READABLE_BY_OTHERS = 0o044;

/** True for an `env:` value written out in the file rather than referenced as `${VAR}`. */
function isLiteralSecret(value: string): boolean {
  return writtenOut(value).trim().length > 0;
}

/**
 * Warnings for files holding secrets that other users can read: the config, when an `env:` value
 * is written out literally, and every `envFile`.
 */
export function secretFileWarnings(configFile: string, raw: ConfigFile): string[] {
  const warnings: string[] = [];
  const check = (file: string, what: string) => {
    try {
      const mode = statSync(file).mode;
      if ((mode & READABLE_BY_OTHERS) !== 0) {
        warnings.push(
          `${file} holds ${what} and is readable by other users (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${file}`
        );
      }
    } catch {
      // a missing env file is reported where it is read
    }
  };
  const servers = Object.values(raw.servers);
  if (servers.some(server => Object.values(server.env ?? {}).some(isLiteralSecret))) {
    check(configFile, 'environment values');
  }
  const baseDir = path.dirname(path.resolve(configFile));
  for (const server of servers) {
    if (server.envFile) check(path.resolve(baseDir, server.envFile), 'an env file');
  }
  return warnings;
}
