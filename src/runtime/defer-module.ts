import { Module } from 'node:module';

/**
 * Puts a stand-in for the CommonJS module `file` (an absolute path) into `require.cache`, so that
 * requiring it loads nothing until its export, a function, is first called: then the real module
 * is loaded, replaces the stand-in in the cache, and every call goes to it. For a module that
 * exports one function and pulls in a large library that most runs never use (Node.js documents
 * adding entries to `require.cache`). Does nothing when `file` is already loaded.
 */
export function deferModule(require: NodeJS.Require, file: string): void {
  if (require.cache[file]) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const load = (): ((...args: unknown[]) => unknown) => {
    if (!real) {
      delete require.cache[file];
      real = require(file) as (...args: unknown[]) => unknown;
    }
    return real;
  };
  const standIn = new Module(file);
  standIn.filename = file;
  standIn.loaded = true;
  standIn.exports = function deferred(this: unknown, ...args: unknown[]): unknown {
    return load().apply(this, args);
  };
  require.cache[file] = standIn;
}
