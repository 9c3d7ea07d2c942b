import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deferModule } from '../../src/runtime/defer-module.js';

const require = createRequire(import.meta.url);
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A CommonJS module that counts its loads (in globalThis[counter]) and exports `(a, b) => a + b`. */
function countingModule(counter: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcp-gateway-defer-'));
  dirs.push(dir);
  const file = path.join(dir, 'add.cjs');
  writeFileSync(
    file,
    `globalThis.${counter} = (globalThis.${counter} ?? 0) + 1;\nmodule.exports = function add(a, b) { return a + b + (this?.bias ?? 0); };\n`
  );
  return file;
}

const loads = (counter: string): unknown => (globalThis as Record<string, unknown>)[counter];

describe('deferModule', () => {
  it('loads the module on the first call of its export, once, and passes arguments, this and the result through', () => {
    const file = countingModule('deferLoadsA');
    deferModule(require, file);
    const add = require(file) as (this: unknown, a: number, b: number) => number;
    expect(loads('deferLoadsA')).toBeUndefined();

    expect(add(1, 2)).toBe(3);
    expect(loads('deferLoadsA')).toBe(1);
    expect(add.call({ bias: 10 }, 1, 2)).toBe(13);
    expect(require(file)).not.toBe(add); // the real module replaced the stand-in in the cache
    expect((require(file) as typeof add)(2, 2)).toBe(4);
    expect(loads('deferLoadsA')).toBe(1);
  });

  it('leaves a module that is already loaded as it is', () => {
    const file = countingModule('deferLoadsB');
    const real = require(file) as unknown;
    deferModule(require, file);
    expect(require(file)).toBe(real);
    expect(loads('deferLoadsB')).toBe(1);
  });
});
