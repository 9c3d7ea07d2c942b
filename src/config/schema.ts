import { z } from 'zod';
import { parsePublicUrl } from './public-url.js';
import { placeholderUrl } from './references.js';

/**
 * The one definition of `servers.yaml`. `validate`, `serve` and the README's reference all follow
 * it; a key it does not name is an error, not silently ignored.
 */

/** A server id: 1-32 of [a-z0-9-], starting with a letter or digit. */
export const SERVER_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** A namespace: empty (no prefix), or 1-32 of [A-Za-z0-9-] starting with a letter or digit. */
const NAMESPACE_PATTERN = /^(?:[A-Za-z0-9][A-Za-z0-9-]{0,31})?$/;

/** The longest a Node.js timer waits (2^31 - 1 ms): a longer one fires at once, after 1 ms. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const seconds = (what: string) =>
  z
    .number({ error: `${what} must be a number of seconds` })
    .finite()
    .min(0, `${what} must be 0 or more seconds`)
    .max(
      MAX_TIMER_SECONDS,
      `${what} must be at most ${MAX_TIMER_SECONDS} seconds (24.8 days), the longest the gateway's timers can wait`
    );

/**
 * A true-or-false setting. YAML 1.2 reads `yes`, `no`, `on` and `off` as text, not as booleans, so
 * the message says what to write instead of zod's "expected boolean, received string".
 */
const trueOrFalse = (what: string) =>
  z.boolean({
    error: issue =>
      `${what} must be true or false` +
      (typeof issue.input === 'string'
        ? `, not "${issue.input}" (write ${what}: true or ${what}: false)`
        : '')
  });

/** Environment values may be written as numbers or booleans in YAML; they reach the server as strings. */
const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(value => String(value));

const toolFilter = z.strictObject({
  /** Globs (`*`, `?`) on the server's own tool names; when given, only matching tools are exposed. */
  allow: z.array(z.string().min(1)).optional(),
  /** Globs on the server's own tool names; matching tools are never exposed. */
  deny: z.array(z.string().min(1)).optional()
});

/** Docker refuses less; and 0 would mean no limit at all. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/** Bytes in `512m`, `1g`, `100k`, `2048` (units are powers of 1024); NaN when it is not a size. */
export function sizeInBytes(size: string | number): number {
  if (typeof size === 'number') return size;
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(size.trim());
  if (!match) return Number.NaN;
  const power = { '': 0, k: 1, m: 2, g: 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** A size in bytes, or a number with a unit: `512m`, `1g`, `256k`. */
const byteSize = z.union([
  z.number().int().min(MIN_MEMORY_BYTES, 'memory must be at least 6m'),
  z
    .string()
    .regex(/^\d+(?:\.\d+)?\s*[kmgKMG]?[bB]?$/, 'a size is bytes or a number with k, m or g (e.g. 512m)')
    .refine(
      size => !(sizeInBytes(size) < MIN_MEMORY_BYTES),
      'memory must be at least 6m (0 would mean no limit)'
    )
]);

/** A bind mount `host:container`, read-only unless it ends in `:rw`. */
const volume = z
  .string()
  .regex(/^[^:]+:\/[^:]*(?::(?:ro|rw))?$/, 'a volume is host-path:/container-path, optionally :ro or :rw');

/**
 * True for an http(s) URL. A `${VAR}` in it counts as a valid part until it is resolved (see
 * `placeholderUrl`); one that starts the value may be the whole URL, so such a value is checked
 * once resolved (see `resolveRemote`).
 */
function isHttpUrl(value: string): boolean {
  if (value.startsWith('${')) return true;
  const url = placeholderUrl(value);
  return url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:');
}

/**
 * What to say of a url with a user name or password in it (`https://user:pw@host/mcp`): requests
 * cannot carry them (fetch refuses such a URL), and the URL is shown in /healthz and logs. Checked
 * again once `${VAR}`s are resolved (see `resolveRemote`).
 */
export const URL_USERINFO_PROBLEM =
  'url must not hold a user name or password (user:password@): requests cannot send them, and the url is shown in /healthz and logs; send the credential as a header instead, e.g. headers: { Authorization: "Basic ${NAME}" } with NAME the base64 of user:password in the environment';

/** Whether `value` (an http(s) URL, maybe with `${VAR}`s) names a user or password before its host. */
function hasUserinfo(value: string): boolean {
  const url = placeholderUrl(value);
  return url !== undefined && (url.username !== '' || url.password !== '');
}

export const ServerConfigSchema = z
  .strictObject({
    /** Shown to clients in the gateway's instructions. */
    description: z.string().optional(),
    /** Docker image to run; without it, `command` is run as a local process. */
    image: z.string().min(1, 'image must not be empty').optional(),
    /**
     * With `image`: replaces the image's CMD. Without: the program and its arguments. A string is
     * one program, its arguments in `args`, as MCP clients' own configs write it.
     */
    command: z
      .union([z.string(), z.array(z.string())], {
        error: 'command must be a program (a string) or a list of strings'
      })
      .superRefine(commandProblems)
      .optional(),
    /** Arguments after `command`, as MCP clients' own configs write them. */
    args: z.array(z.string(), { error: 'args must be a list of strings' }).optional(),
    /** Environment for the server; `${VAR}` takes VAR from the gateway's environment. */
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid variable name'), envValue)
      .optional(),
    /** Working directory of a local process (relative to the config file). */
    cwd: z.string().min(1).optional(),
    /** Seconds a started server may sit unused before it is stopped; 0 = never. */
    idleTimeout: seconds('idleTimeout').optional(),
    /** Seconds a tools/call may take before it fails. */
    callTimeout: seconds('callTimeout').positive('callTimeout must be more than 0 seconds').optional(),
    /** `false` keeps the entry but serves nothing from it. */
    enabled: trueOrFalse('enabled').default(true),
    tools: toolFilter.optional(),
    /** Which prompts are exposed: globs on the server's own prompt names. */
    prompts: toolFilter.optional(),
    /** Which resources and templates are exposed: globs on the server's own URIs and URI templates. */
    resources: toolFilter.optional(),
    /** Docker only: the container's network; default `none` (no network at all). */
    network: z.string().min(1).optional(),
    /** Docker only: memory limit; default 512m. */
    memory: byteSize.optional(),
    /** Docker only: CPU limit in cores; default 1. */
    cpus: z.number().min(0.01, 'cpus must be at least 0.01').max(1024).optional(),
    /** Docker only: process limit; default 256. */
    pids: z.number().int().positive().optional(),
    /** Docker only: bind mounts `host:container[:ro|rw]`, read-only unless `:rw`. */
    volumes: z.array(volume).optional(),
    /** Docker only: user (and group) to run as, e.g. `1000:1000`; default the image's. */
    user: z.string().min(1).optional(),
    /** Docker only: a read-only root filesystem (with a writable /tmp); default false. */
    readOnly: trueOrFalse('readOnly').optional(),
    /** A remote server's MCP endpoint (http or https; `${VAR}` as in env); instead of image or command. */
    url: z
      .string()
      .refine(isHttpUrl, 'url must be an http:// or https:// URL, e.g. https://mcp.example.com/mcp')
      .refine(value => !hasUserinfo(value), URL_USERINFO_PROBLEM)
      .optional(),
    /**
     * The kind as MCP clients' own configs say it (`stdio`, `http`, `streamable-http`, `sse`): checked
     * against image/command/url, which tell the kind here, and for a remote server it sets `transport`.
     */
    type: z
      .enum(['stdio', 'http', 'streamable-http', 'sse'], {
        error:
          'type must be stdio, http, streamable-http or sse (or left out: image, command or url tells the kind)'
      })
      .optional(),
    /** Remote only: `auto` (Streamable HTTP, falling back to HTTP+SSE), `streamable-http` or `sse`. */
    transport: z
      .enum(['auto', 'streamable-http', 'sse'], {
        error: 'transport must be auto, streamable-http or sse'
      })
      .optional(),
    /** Remote only: headers sent with every request; `${VAR}` as in env. */
    headers: z
      .record(
        z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name'),
        z.string({ error: 'a header value must be a string' })
      )
      .optional(),
    /** Remote only: a PEM file of CA certificates trusted for the server (relative to the config file). */
    ca: z.string().min(1, 'ca must name a PEM file').optional(),
    /** Remote only: `oauth` makes the gateway an OAuth client of the server. */
    auth: z.literal('oauth', { error: 'auth must be oauth (or left out: headers only)' }).optional(),
    /** With auth: oauth: a client registered with the server's authorization server. */
    clientId: z.string().min(1).optional(),
    /** With auth: oauth: that client's secret (`${VAR}` as in env). */
    clientSecret: z.string().min(1).optional(),
    /** With auth: oauth: the scopes to ask for; default what the server's metadata says. */
    scope: z.string().min(1).optional(),
    /** With auth: oauth: `shared` (one login for the gateway) or `per-user` (each principal logs in). */
    credentials: z
      .enum(['shared', 'per-user'], { error: 'credentials must be shared or per-user' })
      .optional(),
    /** A dotenv file (KEY=value lines) whose variables join `env`; relative to the config file. */
    envFile: z.string().min(1).optional(),
    /**
     * `auto` (default): what the server offers on its first discovery is approved (pinned);
     * `manual`: nothing is served until approved. Either way, a definition that later differs from
     * its pin is quarantined until approved.
     */
    trust: z.enum(['auto', 'manual'], { error: 'trust must be auto or manual' }).optional(),
    /** Calls in flight at once; more wait in a queue. Default 16. */
    maxConcurrency: z.number().int().positive().optional(),
    /** Calls that may wait for a slot; past it a call fails at once with "server busy". Default 64. */
    maxQueue: z.number().int().min(0).optional(),
    /** Prefix of the server's tools; default the id; "" = no prefix. */
    namespace: z
      .string()
      .regex(
        NAMESPACE_PATTERN,
        'namespace must be empty or 1-32 of [A-Za-z0-9-], starting with a letter or digit'
      )
      .optional()
  })
  .superRefine((server, ctx) => {
    const kinds = (['image', 'command', 'url'] as const).filter(key => server[key] !== undefined);
    if (kinds.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message:
          'a server needs `image` (a Docker container), `command` (a local process) or `url` (a remote server)'
      });
      return;
    }
    if (server.url !== undefined) {
      // A remote server runs nowhere the gateway could start it: nothing of a process applies.
      for (const key of [...NOT_REMOTE, ...DOCKER_ONLY]) {
        if (server[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `${key} does not apply to a server with a url (a remote server); remove ${key}, or remove url to run the server here`
          });
        }
      }
    } else {
      for (const key of REMOTE_ONLY) {
        if (server[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `${key} applies only to servers with a url (remote servers)`
          });
        }
      }
    }
    // Such a server is listed only through a principal's own call, which trust: manual refuses
    // before anything is listed to approve.
    if (server.trust === 'manual' && server.credentials === 'per-user') {
      ctx.addIssue({
        code: 'custom',
        path: ['trust'],
        message:
          "trust: manual does not work with credentials: per-user (the server is listed only through a user's own call, which trust: manual would refuse before anything could be approved); use trust: auto, whose changed definitions are still quarantined"
      });
    }
    if (server.auth === undefined) {
      for (const key of OAUTH_ONLY) {
        if (server[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies only with auth: oauth` });
        }
      }
    }
    if (server.type !== undefined) typeProblems(server, ctx);
    if (server.args !== undefined && server.command === undefined && server.url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['args'],
        message: 'args are the arguments of command: set command to the program they go to'
      });
    }
    if (server.image === undefined) {
      for (const key of DOCKER_ONLY) {
        if (server.url === undefined && server[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `${key} applies only to servers with an image`
          });
        }
      }
    } else if (server.cwd !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cwd'],
        message:
          'cwd applies only to local processes (a command without an image); set WORKDIR in the image instead'
      });
    }
  });

/**
 * What is wrong with a `command` of the right type: nothing in it, or a string holding a program
 * and its arguments (which would otherwise fail only at the server's start, as a program named
 * "npx -y pkg" that is not found).
 */
function commandProblems(command: string | string[], ctx: z.RefinementCtx): void {
  const words = typeof command === 'string' ? command.trim().split(/\s+/) : command;
  if (words.length === 0 || words[0] === '') {
    ctx.addIssue({ code: 'custom', message: 'command must not be empty' });
  } else if (typeof command === 'string' && words.length > 1) {
    ctx.addIssue({
      code: 'custom',
      message: `command ${JSON.stringify(command)} is a program and its arguments in one string; write it as a list, ${flowList(words)}, or as command: ${JSON.stringify(words[0])} with args: ${flowList(words.slice(1))} (a program whose path has spaces goes in the list form)`
    });
  }
}

/** What a client config's `type` contradicts: the kind image/command/url give, or `transport`. */
function typeProblems(
  server: { type?: string; url?: string; transport?: string },
  ctx: z.RefinementCtx
): void {
  const remote = server.type !== 'stdio';
  if (remote && server.url === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: `type: ${server.type} is a remote server: give its url (or use type: stdio with image or command)`
    });
  } else if (!remote && server.url !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: 'type: stdio is a server run here, but url makes it remote: remove one of them'
    });
  } else if (remote && server.transport !== undefined && server.transport !== transportOfType(server.type)) {
    ctx.addIssue({
      code: 'custom',
      path: ['transport'],
      message: `transport: ${server.transport} contradicts type: ${server.type}; keep one of them`
    });
  }
}

/** The `transport` a remote server's client-config `type` means (none for `stdio` or no type). */
export function transportOfType(type: string | undefined): 'streamable-http' | 'sse' | undefined {
  if (type === 'sse') return 'sse';
  return type === 'http' || type === 'streamable-http' ? 'streamable-http' : undefined;
}

/** `words` as a YAML flow list that reads back as the same strings. */
function flowList(words: readonly string[]): string {
  return `[${words.map(word => JSON.stringify(word)).join(', ')}]`;
}

/** Keys of a server that runs here (a container or a process), refused beside `url`. */
const NOT_REMOTE = ['image', 'command', 'args', 'env', 'envFile', 'cwd'] as const;
/** Keys of a remote server, refused without `url`. */
const REMOTE_ONLY = [
  'transport',
  'headers',
  'ca',
  'auth',
  'clientId',
  'clientSecret',
  'scope',
  'credentials'
] as const;
/** Keys that configure `auth: oauth`, refused without it. */
const OAUTH_ONLY = ['clientId', 'clientSecret', 'scope', 'credentials'] as const;
const DOCKER_ONLY = ['network', 'memory', 'cpus', 'pids', 'volumes', 'user', 'readOnly'] as const;

export const DefaultsSchema = z.strictObject({
  idleTimeout: seconds('idleTimeout').default(300),
  callTimeout: seconds('callTimeout').positive('callTimeout must be more than 0 seconds').default(120),
  /** Seconds a server gets to finish the MCP handshake once its process or container runs. */
  startTimeout: seconds('startTimeout').positive('startTimeout must be more than 0 seconds').default(30)
});

const AuthSchema = z.strictObject({
  /**
   * `none`: no authentication (only allowed on loopback, or with --allow-unauthenticated);
   * `token`: bearer tokens made with `mcp-gateway token create`; `oauth`: the gateway's own OAuth
   * 2.1 server plus tokens; `oidc`: an external OIDC provider's access tokens plus tokens.
   */
  mode: z.enum(['none', 'token', 'oauth', 'oidc']).default('none'),
  /** For `mode: oidc`: the provider whose tokens are accepted. */
  oidc: z
    .strictObject({
      issuer: z.url({ error: 'issuer must be a URL' }),
      /** The audience tokens must carry; default the gateway's MCP resource URL. */
      audience: z.string().min(1).optional(),
      /** Where the provider's keys are; default from its discovery document. */
      jwksUri: z.url().optional()
    })
    .optional()
});

const LimitsSchema = z.strictObject({
  /** Requests per minute per principal (token, OAuth client, or remote address); then 429. */
  requestsPerMinute: z.number().int().positive().default(600),
  /** Open 2025-era sessions per principal. */
  sessionsPerPrincipal: z.number().int().positive().default(32),
  /** Open 2025-era sessions in all. */
  maxSessions: z.number().int().positive().default(1000),
  /** Largest tool result passed back, in bytes; a bigger one becomes a tool error. */
  maxResultBytes: z
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  /** Seconds a client gets to send its request headers; then the connection is closed. */
  headersTimeout: z.number().positive().default(10),
  /** Seconds a client gets to send its whole request (headers and body). */
  requestTimeout: z.number().positive().default(30)
});

/** The gateway itself. Flags and environment variables win over these. */
export const GatewaySettingsSchema = z
  .strictObject({
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    /** The https URL clients reach the gateway at (behind a proxy); needed for OAuth. */
    publicUrl: z.url({ error: 'publicUrl must be a URL' }).optional(),
    /** More names the Host header may carry, besides the loopback names. */
    allowedHosts: z.array(z.string().min(1)).optional(),
    /** More hosts a browser Origin may name, besides the loopback names. */
    allowedOrigins: z.array(z.string().min(1)).optional(),
    /** Seconds a 2025-era session may go without a request before it is closed; default 30 min. */
    sessionTimeout: seconds('sessionTimeout')
      .positive('sessionTimeout must be more than 0 seconds')
      .default(1800),
    /**
     * What clients are listed: `all` tools, or `search`: two tools, `search_tools` and `call_tool`,
     * that find and call the others (for clients that cap their tools, or a model's context).
     */
    expose: z.enum(['all', 'search'], { error: 'expose must be all or search' }).default('all'),
    auth: AuthSchema.prefault({}),
    limits: LimitsSchema.prefault({})
  })
  .superRefine((gateway, ctx) => {
    // What each auth mode needs from the rest of the file: `serve` would refuse the file without it,
    // so `validate` (which loads through this schema too) says so, located.
    const { mode, oidc } = gateway.auth;
    if (mode === 'oauth') {
      if (gateway.publicUrl === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['auth', 'mode'],
          message:
            'auth.mode oauth needs gateway.publicUrl: the https URL clients reach the gateway at (e.g. https://gateway.example.com)'
        });
        return;
      }
      try {
        // http is accepted on a loopback host only (trying it out locally); OAuth needs TLS otherwise.
        parsePublicUrl(gateway.publicUrl, true);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['publicUrl'], message: (error as Error).message });
      }
    }
    if (mode === 'oidc') {
      if (oidc === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['auth', 'mode'],
          message: 'auth.mode oidc needs auth.oidc.issuer: the provider whose access tokens are accepted'
        });
      } else if (oidc.audience === undefined && gateway.publicUrl === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['auth', 'oidc'],
          message:
            'auth.mode oidc needs auth.oidc.audience, or gateway.publicUrl (the audience is then publicUrl/mcp)'
        });
      }
    }
  });

/** What the gateway records of sessions and calls (in the state directory). */
export const HistorySchema = z.strictObject({
  /** `false` records nothing: no sessions, no requests. */
  enabled: trueOrFalse('enabled').default(true),
  /** Records older than this many days are pruned. */
  retentionDays: z.number().positive('retentionDays must be more than 0').default(30),
  /** At most this many request records are kept; older ones are pruned. */
  maxRequests: z.number().int().positive('maxRequests must be at least 1').default(100_000)
});

/**
 * The bounds of a profile's `maxToolNameLength`: the catalog's longest name (64, what clients
 * accept) and room for the 9-character hash suffix of a shortened name plus a few characters.
 */
const MAX_TOOL_NAME_LENGTH = 64;
const MIN_TOOL_NAME_LENGTH = 16;

/** A profile's name: it is a URL path segment (`/mcp/<name>`), so URL-safe and short. */
export const PROFILE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** A glob filter on exposed names (`server__tool`, exposed prompt names, exposed resource URIs). */
const exposedFilter = z.strictObject({
  /** Globs on exposed names; when given, only matching items are in the profile. */
  allow: z.array(z.string().min(1)).optional(),
  /** Globs on exposed names; matching items are never in the profile. */
  deny: z.array(z.string().min(1)).optional()
});

/** A named subset of the gateway, served at `/mcp/<name>` (and `/sse/<name>`). */
export const ProfileSchema = z.strictObject({
  /** The ids of the servers in the profile (each must be in `servers`). */
  servers: z.array(z.string().min(1), { error: 'servers must be a list of server ids' }),
  tools: exposedFilter.optional(),
  prompts: exposedFilter.optional(),
  resources: exposedFilter.optional(),
  /**
   * `all` lists every tool; `search` lists `search_tools` and `call_tool` instead (see
   * `gateway.expose`). Left out: the gateway's `expose`.
   */
  expose: z.enum(['all', 'search'], { error: 'expose must be all or search' }).optional(),
  /** Tool and prompt names longer than this are shortened (with a stable hash). */
  maxToolNameLength: z
    .number()
    .int()
    .min(MIN_TOOL_NAME_LENGTH, `maxToolNameLength must be at least ${MIN_TOOL_NAME_LENGTH}`)
    .max(MAX_TOOL_NAME_LENGTH, `maxToolNameLength must be at most ${MAX_TOOL_NAME_LENGTH}`)
    .default(MAX_TOOL_NAME_LENGTH)
});

export const ConfigFileSchema = z
  .strictObject({
    gateway: GatewaySettingsSchema.prefault({}),
    history: HistorySchema.prefault({}),
    defaults: DefaultsSchema.prefault({}),
    profiles: z
      .record(
        z
          .string()
          .regex(
            PROFILE_NAME_PATTERN,
            'a profile name is 1-32 of [a-z0-9_-] and starts with a letter or digit (it is the path /mcp/<name>)'
          ),
        ProfileSchema,
        { error: 'profiles must be a mapping of profile name to its settings' }
      )
      .default({}),
    servers: z
      .record(
        z
          .string()
          .regex(SERVER_ID_PATTERN, 'a server id is 1-32 of [a-z0-9-] and starts with a letter or digit'),
        ServerConfigSchema,
        { error: 'servers must be a mapping of server id to its settings' }
      )
      .default({})
  })
  .superRefine((file, ctx) => {
    for (const [name, profile] of Object.entries(file.profiles)) {
      profile.servers.forEach((id, index) => {
        if (file.servers[id] !== undefined) return;
        const known = Object.keys(file.servers);
        ctx.addIssue({
          code: 'custom',
          path: ['profiles', name, 'servers', index],
          message: `profile ${name} names server "${id}", which is not in servers (${known.length > 0 ? `known: ${known.join(', ')}` : 'there are none'}); fix the id or add the server`
        });
      });
    }
    // Per-user credentials need principals to tell apart: an authenticated gateway.
    if (file.gateway.auth.mode !== 'none') return;
    for (const [id, server] of Object.entries(file.servers)) {
      if (server.credentials === 'per-user') {
        ctx.addIssue({
          code: 'custom',
          path: ['servers', id, 'credentials'],
          message:
            'credentials: per-user needs gateway.auth.mode token, oauth or oidc (without authentication every caller is the same user); use credentials: shared, or turn on auth'
        });
      }
    }
  });

export type ServerConfig = z.output<typeof ServerConfigSchema>;
export type ConfigFile = z.output<typeof ConfigFileSchema>;
export type ProfileConfig = z.output<typeof ProfileSchema>;
