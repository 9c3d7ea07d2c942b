import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { StoreError } from './store-error.js';

/**
 * What a row holds: the client the gateway registered (or the Client ID Metadata Document URL it
 * uses), the tokens, or the discovery state (protected resource and authorization server metadata).
 */
export type CredentialKind = 'client' | 'tokens' | 'discovery';

/** Whose credential: a server, and a principal id or "" for the credentials the gateway shares. */
export interface CredentialOwner {
  readonly serverId: string;
  readonly principal: string;
}

const FORMAT = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The gateway's OAuth credentials for remote servers, one row per (server, principal, kind), each
 * value sealed with AES-256-GCM under the key from the state directory's key file. The row's
 * identity is the cipher's associated data, so a value copied into another principal's or
 * server's row fails to open, as does any altered byte: both throw a {@link StoreError}
 * `tampered` that names the server and says to log in again.
 */
export class RemoteCredentialStore {
  private loadedKey: Buffer | undefined;

  /** `key` is asked for on first use, so a gateway without OAuth servers never makes a key file. */
  constructor(
    private readonly db: DatabaseSync,
    private readonly loadKey: () => Buffer
  ) {}

  private get key(): Buffer {
    return (this.loadedKey ??= this.loadKey());
  }

  /** The value stored for `owner` and `kind`, or undefined when there is none. */
  read(owner: CredentialOwner, kind: CredentialKind): unknown {
    const row = this.db
      .prepare('SELECT sealed FROM remote_credentials WHERE server_id = ? AND principal = ? AND kind = ?')
      .get(owner.serverId, owner.principal, kind) as { sealed: string } | undefined;
    if (row === undefined) return undefined;
    try {
      return JSON.parse(this.open(row.sealed, owner, kind)) as unknown;
    } catch (error) {
      throw new StoreError(
        'tampered',
        `the stored OAuth ${kind} of server "${owner.serverId}"${owner.principal ? ` for ${owner.principal}` : ''} ` +
          'cannot be decrypted (altered, or sealed under another remote-oauth.key). Run ' +
          `\`mcp-gateway login ${owner.serverId}\` to replace it`,
        { cause: error }
      );
    }
  }

  /** Stores `value` (JSON) for `owner` and `kind`, replacing what was there. */
  write(owner: CredentialOwner, kind: CredentialKind, value: unknown): void {
    this.db
      .prepare(
        `INSERT INTO remote_credentials (server_id, principal, kind, sealed, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (server_id, principal, kind) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`
      )
      .run(
        owner.serverId,
        owner.principal,
        kind,
        this.seal(JSON.stringify(value), owner, kind),
        new Date().toISOString()
      );
  }

  /** Deletes `owner`'s rows of the given kinds (all when none given); true when there were any. */
  forget(
    owner: CredentialOwner,
    kinds: readonly CredentialKind[] = ['client', 'tokens', 'discovery']
  ): boolean {
    let deleted = 0;
    for (const kind of kinds) {
      const result = this.db
        .prepare('DELETE FROM remote_credentials WHERE server_id = ? AND principal = ? AND kind = ?')
        .run(owner.serverId, owner.principal, kind);
      deleted += Number(result.changes);
    }
    return deleted > 0;
  }

  private seal(plain: string, owner: CredentialOwner, kind: CredentialKind): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(associatedData(owner, kind));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${FORMAT}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  private open(sealed: string, owner: CredentialOwner, kind: CredentialKind): string {
    const [format, payload] = sealed.split('.');
    if (format !== FORMAT || payload === undefined) throw new Error(`unknown format "${format}"`);
    const bytes = Buffer.from(payload, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(associatedData(owner, kind));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8'
    );
  }
}

function associatedData(owner: CredentialOwner, kind: CredentialKind): Buffer {
  return Buffer.from(JSON.stringify([owner.serverId, owner.principal, kind]), 'utf8');
}
