import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI, FIXTURE_SERVER, GatewayProcess } from './gateway-process.js';
import { freePort } from './tmpfs.js';

/**
 * A protected remote MCP server for the tests of the gateway as OAuth client: a gateway in
 * `auth.mode: oauth` (its admin password `password`) serving the fixture server as `fixture`.
 */
export class ProtectedRemote {
  private constructor(
    readonly gateway: GatewayProcess,
    /** Its state directory (its grants, its admin password). */
    readonly stateDir: string,
    /** Its `publicUrl`: its MCP endpoint is `${origin}/mcp`. */
    readonly origin: string
  ) {}

  static async start(password: string): Promise<ProtectedRemote> {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'protected-remote-'));
    const set = remoteCli(stateDir, ['admin', 'set-password'], `${password}\n`);
    if (set.status !== 0) throw new Error(`admin set-password failed: ${set.stderr}`);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const gateway = await GatewayProcess.start(
      `
gateway:
  publicUrl: ${origin}
  auth: { mode: oauth }
servers:
  fixture:
    command: ["${process.execPath}", "${FIXTURE_SERVER}"]
`,
      { stateDir, args: ['--port', String(port)] }
    );
    return new ProtectedRemote(gateway, stateDir, origin);
  }

  /** Runs the CLI against its state directory (`token list`, `token revoke`, …). */
  cli(args: string[], input?: string) {
    return remoteCli(this.stateDir, args, input);
  }

  /** The ids of its grants to the gateway under test (one per login). */
  grants(): string[] {
    return [...this.cli(['token', 'list']).stdout.matchAll(/^oauth:mcp-gateway\t(\S+)\t/gm)].map(
      match => match[1]!
    );
  }

  async dispose(): Promise<void> {
    await this.gateway.dispose();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

function remoteCli(stateDir: string, args: string[], input?: string) {
  return spawnSync(process.execPath, [CLI, ...args, '--state-dir', stateDir], {
    encoding: 'utf8',
    input,
    timeout: 20_000
  });
}
