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

/**
 * One server as the rest of the gateway sees it: the config entry with defaults applied, `${VAR}`
 * references resolved, and times in milliseconds.
 */
export interface ServerSpec {
  readonly id: string;
  readonly description: string | undefined;
  /** Prefix of its tools in the catalog; "" for none. */
  readonly namespace: string;
  /** `docker` when the entry names an image, `process` for a local command. */
  readonly runtime: 'docker' | 'process';
  readonly image: string | undefined;
  readonly command: readonly string[] | undefined;
  /** Container confinement; only for `docker` servers. */
  readonly limits: ContainerLimits | undefined;
  readonly env: Readonly<Record<string, string>>;
  /** Absolute working directory of a local process. */
  readonly cwd: string | undefined;
  /** 0 = never stopped for idleness. */
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
  /** Set when the server cannot run at all (an unset `${VAR}`); every call to it fails with this. */
  readonly unavailable: string | undefined;
  /** Changes whenever anything that could change the server's tools changes. */
  readonly fingerprint: string;
}

/** A server's allow/deny globs for one capability kind: deny wins; no allow list allows all. */
export interface NameFilter {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

/** A stable hash of what decides a server's tool list. The runtime may add to it (an image id). */
export function fingerprintOf(spec: Pick<ServerSpec, 'image' | 'command' | 'env' | 'cwd'>): string {
  const canonical = JSON.stringify({
    image: spec.image ?? null,
    command: spec.command ?? null,
    cwd: spec.cwd ?? null,
    env: Object.entries(spec.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

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
