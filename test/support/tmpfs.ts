import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

/**
 * Fault tests that fill a filesystem mount a small tmpfs of their own, which needs root. Outside
 * CI a non-root run skips them; in CI (`CI=true`) they run and fail loudly instead.
 */
export const canMount = process.getuid?.() === 0 || process.env.CI === 'true';

/** A `sizeKiB` tmpfs mounted at `dir` (created). Unmount it with {@link unmount}. */
export function mountTmpfs(dir: string, sizeKiB = 256): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755`, 'tmpfs', dir]);
}

/** Fills the filesystem holding `dir` to the last block, with a file named `fill`. */
export function fill(dir: string): void {
  // dd stops with "No space left on device" and a non-zero status: that is the point.
  spawnSync('dd', ['if=/dev/zero', `of=${path.join(dir, 'fill')}`, 'bs=4k'], { stdio: 'ignore' });
  spawnSync('dd', ['if=/dev/zero', `of=${path.join(dir, 'fill-tail')}`, 'bs=512'], { stdio: 'ignore' });
}

/** Unmounts `dir` if it is mounted (lazily, so an open file cannot keep it). Never throws. */
export function unmount(dir: string): void {
  spawnSync('umount', ['--lazy', dir], { stdio: 'ignore' });
}

/** A TCP port free on 127.0.0.1 now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise(resolve => server.close(resolve));
  return port;
}

/** True when something accepts connections on 127.0.0.1:`port`. */
export async function listening(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    () => false
  );
}
