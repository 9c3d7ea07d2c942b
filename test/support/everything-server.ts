import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { EVERYTHING_SERVER, waitUntil } from './gateway-process.js';

/** A port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

/**
 * server-everything as a remote MCP server on loopback: its `streamableHttp` mode (endpoint /mcp) or
 * its `sse` mode (/sse), on a port of its own that stays the same across {@link restart}s. The
 * caller kills it ({@link kill}) when done.
 */
export class Everything {
  private child: ChildProcess | undefined;

  private constructor(
    readonly mode: 'streamableHttp' | 'sse',
    readonly port: number
  ) {}

  get url(): URL {
    return new URL(`http://127.0.0.1:${this.port}/${this.mode === 'sse' ? 'sse' : 'mcp'}`);
  }

  /** Started, and answering HTTP. */
  static async start(mode: 'streamableHttp' | 'sse'): Promise<Everything> {
    const server = new Everything(mode, await freePort());
    await server.restart();
    return server;
  }

  /** Starts it (again) on its port; resolves once it answers HTTP. */
  async restart(): Promise<void> {
    this.child = spawn(process.execPath, [EVERYTHING_SERVER, this.mode], {
      env: { ...process.env, PORT: String(this.port) },
      stdio: 'ignore'
    });
    await waitUntil(
      () =>
        fetch(`http://127.0.0.1:${this.port}/`).then(
          () => true,
          () => false
        ),
      20_000
    );
  }

  /** Kills it at once (SIGKILL), as a crash would; resolves once it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise(resolve => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
