import { createHash } from 'node:crypto';

/** How a Docker server's container is confined. Every field has a safe default. */
export interface ContainerLimits {
  /** `none` unless the server declares a network. */
  readonly network: string;
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly pids: number;
  /** Bind mounts in Docker's `host:container:mode` form, mode `ro` unless marked `rw`. */
  readonly binds: readonly string[];
  readonly user: string | undefined;
  readonly readOnly: boolean;
}

/** What every server has, whatever its kind. */
interface CommonSpec {
  readonly id: string;
  readonly description: string | undefined;
  /** Prefix of its tools in the catalog; "" for none. */
  readonly namespace: string;
  /** 0 = never stopped (or, for a remote server, disconnected) for idleness. */
  readonly idleTimeoutMs: number;
  readonly callTimeoutMs: number;
  /** Calls in flight at once. */
  readonly maxConcurrency: number;
  /** Calls that may wait for a slot before a call fails with "server busy". */
  readonly maxQueue: number;
  /** Which of the server's tools are exposed (globs on its own names). */
  readonly tools: NameFilter;
  /** Which of its prompts are exposed (globs on its own names). */
  readonly prompts?: NameFilter;
  /** Which of its resources and templates are exposed (globs on its own URIs and URI templates). */
  readonly resources?: NameFilter;
  /**
   * `auto` (undefined too): its first discovery is approved; `manual`: nothing is served until
   * approved (see catalog/definition-pins.ts).
   */
  readonly trust?: 'auto' | 'manual';
  /** Set when the server cannot run at all (an unset `${VAR}`); every call to it fails with this. */
  readonly unavailable: string | undefined;
  /** Changes whenever anything that could change the server's tools changes. */
  readonly fingerprint: string;
}

/** A server run in a Docker container (`image:` in servers.yaml), spoken to over its stdio. */
export interface DockerSpec extends CommonSpec {
  readonly kind: 'docker';
  readonly image: string;
  /** Replaces the image's CMD; undefined keeps it. */
  readonly command: readonly string[] | undefined;
  readonly env: Readonly<Record<string, string>>;
  /** Container confinement. */
  readonly limits: ContainerLimits;
}

/** A server run as a local process (`command:` without `image:`), spoken to over its stdio. */
export interface ProcessSpec extends CommonSpec {
  readonly kind: 'process';
  /** The program and its arguments; never empty. */
  readonly command: readonly [string, ...string[]];
  readonly env: Readonly<Record<string, string>>;
  /** Absolute working directory; undefined: the gateway's. */
  readonly cwd: string | undefined;
}

/** A server reached over HTTP (`url:` in servers.yaml): no process, no stdio. */
export interface RemoteSpec extends CommonSpec {
  readonly kind: 'remote';
  readonly remote: RemoteTarget;
}

/**
 * One server as the rest of the gateway sees it: the config entry with defaults applied, `${VAR}`
 * references resolved, and times in milliseconds. Its `kind` decides which fields it has, so a
 * spec that mixes kinds (an image with a URL) cannot be built.
 */
export type ServerSpec = DockerSpec | ProcessSpec | RemoteSpec;

/** The servers that run as a process (a container or a local one) and speak MCP over stdio. */
export type StdioSpec = DockerSpec | ProcessSpec;

/** A server's allow/deny globs for one capability kind: deny wins; no allow list allows all. */
export interface NameFilter {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

/**
 * A stable hash of what decides a server's tool list. The runtime may add to it (an image id). For
 * a remote server: its URL, transport, the names of its headers (not their values: a rotated token
 * changes no tool) and its auth settings.
 */
export function fingerprintOf(spec: FingerprintInput): string {
  const canonical =
    spec.kind === 'remote'
      ? JSON.stringify({
          url: spec.remote.url.href,
          transport: spec.remote.transport,
          headers: Object.keys(spec.remote.headers)
            .map(name => name.toLowerCase())
            .sort(),
          oauth: spec.remote.oauth
            ? {
                clientId: spec.remote.oauth.clientId ?? null,
                scope: spec.remote.oauth.scope ?? null,
                credentials: spec.remote.oauth.credentials
              }
            : null
        })
      : JSON.stringify({
          image: spec.kind === 'docker' ? spec.image : null,
          command: spec.command ?? null,
          cwd: spec.kind === 'process' ? (spec.cwd ?? null) : null,
          env: Object.entries(spec.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** What {@link fingerprintOf} reads of each kind. */
export type FingerprintInput =
  | Pick<DockerSpec, 'kind' | 'image' | 'command' | 'env'>
  | Pick<ProcessSpec, 'kind' | 'command' | 'env' | 'cwd'>
  | Pick<RemoteSpec, 'kind' | 'remote'>;

/** How a remote server (`url:` in servers.yaml) is reached. */
export interface RemoteTarget {
  /** The server's MCP endpoint (`${VAR}` resolved). */
  readonly url: URL;
  /** `auto`: Streamable HTTP, falling back to HTTP+SSE when the server speaks only that. */
  readonly transport: 'auto' | 'streamable-http' | 'sse';
  /** Headers sent with every request to the server (`${VAR}` resolved). */
  readonly headers: Readonly<Record<string, string>>;
  /** PEM text of the server's `ca:` file: trusted besides the system's and NODE_EXTRA_CA_CERTS. */
  readonly ca: string | undefined;
  /** OAuth to the server (`auth: oauth`); undefined: none (headers only). */
  readonly oauth: RemoteOAuth | undefined;
}

/** The gateway as an OAuth client of one remote server. */
export interface RemoteOAuth {
  /** A pre-registered client; without one, a Client ID Metadata Document, then dynamic registration. */
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
  /** Scopes to ask for; undefined: what the server's metadata says. */
  readonly scope: string | undefined;
  /** `shared`: one login for the gateway; `per-user`: each principal logs in on its own. */
  readonly credentials: 'shared' | 'per-user';
}
