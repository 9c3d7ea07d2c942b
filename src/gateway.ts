import { once } from 'node:events';
import path from 'node:path';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Catalog } from './catalog/catalog.js';
import { CatalogStore } from './catalog/catalog-store.js';
import { PinKeeper } from './catalog/pin-keeper.js';
import { pinEventWiring } from './catalog/pin-events.js';
import { PinStore } from './store/pin-store.js';
import { Profiles } from './catalog/profiles.js';
import { ServerStatuses } from './catalog/server-statuses.js';
import { listenHost } from './config/exposure.js';
import { formatProblem, loadConfigFile } from './config/load-config.js';
import type { ServerSpec } from './config/server-spec.js';
import { createApiRouter } from './http/api/api-router.js';
import { createOwnLoginRoutes } from './http/api/login-routes.js';
import { createApp } from './http/app.js';
import { createUiRouter } from './http/ui/ui-router.js';
import { createRemoteOAuthRouter, gatewayClientAt } from './http/remote-oauth/remote-oauth-router.js';
import { RemoteLogins } from './connectors/oauth/remote-logins.js';
import { loadCredentialKey } from './store/credential-key.js';
import { RemoteCredentialStore } from './store/remote-credential-store.js';
import { createObservability } from './observability.js';
import { ConfigReloader, type ReloadResult, type ReloadTrigger } from './config-reloader.js';
import { MemoryAfterBursts } from './memory-after-bursts.js';
import { reduceMemory } from './reduce-memory.js';
import { createSecurity } from './security.js';
import { CallRunner } from './sessions/call-runner.js';
import { isLoopback, LOOPBACK_NAMES } from './config/loopback.js';
import type { Logger } from './log.js';
import { connectorFor } from './connectors/connector-for.js';
import { fetchTrusting } from './connectors/remote-fetch.js';
import { DockerRuntime } from './runtime/docker-runtime.js';
import { LocalProcessRuntime } from './runtime/local-process-runtime.js';
import { PrincipalUpstreams } from './upstream/principal-upstreams.js';
import { createGatewayServer, describeServers } from './sessions/gateway-server.js';
import { InputStates } from './sessions/input-states.js';
import { LegacySessions } from './sessions/legacy-sessions.js';
import { SessionLogLevels } from './sessions/session-log-levels.js';
import { SseSessions } from './sessions/sse-sessions.js';
import { ResourceSubscriptions } from './sessions/resource-subscriptions.js';
import { FastPath } from './sessions/fast-path.js';
import { SessionToolList } from './sessions/session-tool-list.js';
import { ModernEndpoint } from './sessions/modern-endpoint.js';
import type { Settings } from './settings.js';
import { DATABASE_FILE, openDatabase } from './store/database.js';
import { lockStateDirectory } from './store/state-lock.js';
import { SessionStore } from './store/session-store.js';
import { Upstream } from './upstream/upstream.js';
import { UpstreamRegistry } from './upstream/upstream-registry.js';
import { VERSION } from './version.js';

/** Request bodies above this get 413. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** How long shutdown waits for in-flight calls (seconds), unless `SHUTDOWN_DRAIN` says otherwise. */
const DRAIN_SECONDS = 10;
/** How long shutdown waits, after failing the calls still running, for their answers to be written. */
const ANSWER_MS = 2_000;
/** How long a `tools/list` waits for startup discovery. */
const LIST_WAIT_MS = 15_000;
/** Tools per `tools/list` page: big enough that ordinary catalogs arrive whole. */
const PAGE_SIZE = 1_000;
/** Dashboard login forms accepted per minute from one address (as many as the consent page). */
const DASHBOARD_LOGINS_PER_MINUTE = 10;
/** Memory is given back after a burst once no request has come for this long (memory-after-bursts.ts)... */
const QUIET_MS = 1_000;
/** ...and RSS has grown by this much since it was last given back. */
const BURST_GROWTH_BYTES = 16 * 1024 * 1024;

/** The config file is unusable; `problems` are `file:line:col: message` lines. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(
      `the config has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.join('\n')}`
    );
  }
}

export interface RunningGateway {
  /** The `/mcp` URL it serves. */
  readonly url: string;
  readonly catalog: Catalog;
  /** Reloads servers.yaml (see {@link ConfigReloader}); never rejects. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult>;
  /**
   * Graceful shutdown: refuses new requests, lets in-flight calls finish (for `SHUTDOWN_DRAIN`
   * seconds), answers those still running with a shutting-down error, then closes the sessions,
   * stops every server and closes the store. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts the gateway holding its state directory ({@link lockStateDirectory}): a second gateway on
 * the same directory is refused before it touches the first one's containers or database. The
 * lock is let go once the gateway has closed, or failed to start.
 */
export async function startGateway(settings: Settings, log: Logger): Promise<RunningGateway> {
  const lock = lockStateDirectory(settings.stateDir);
  if (lock.unlocked) log.warn({ err: lock.unlocked }, 'starting without the state directory lock');
  try {
    const running = await startLocked(settings, log);
    return { ...running, close: () => running.close().finally(() => lock.release()) };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * The composition root: builds every part from the settings, in the order data flows, starts them,
 * and owns the order of shutdown (HTTP first, servers next, store last).
 */
async function startLocked(settings: Settings, log: Logger): Promise<RunningGateway> {
  const loadOptions = { env: process.env, defaultIdleTimeout: settings.defaultIdleTimeout };
  const loaded = await loadConfigFile(settings.configFile, loadOptions);
  if (!loaded.ok) throw new ConfigError(loaded.problems.map(formatProblem));
  const { config } = loaded;
  for (const warning of config.warnings) log.warn(warning);

  const databaseFile = path.resolve(settings.stateDir, DATABASE_FILE);
  const db = openDatabase(settings.stateDir, {
    resetDamaged: settings.resetDamagedState,
    onMovedAside: (movedTo, problem) =>
      log.warn(
        { file: databaseFile, movedTo, problem },
        `the state database was damaged: moved it to ${movedTo} and started an empty one`
      )
  });
  // Containers are this gateway's by its state directory, unless MCP_GATEWAY_OWNER names it (two
  // containerized gateways on one engine both use /data).
  const owner = process.env.MCP_GATEWAY_OWNER || DockerRuntime.ownerFor(path.resolve(settings.stateDir));
  const docker = new DockerRuntime({ owner, log });
  const usesDocker = () => registry.specs().some(spec => spec.kind === 'docker');
  /**
   * Pings the engine the first time a Docker server is configured (at start, or by the reload that
   * adds the first one), so that /healthz reports what it found rather than an engine never asked,
   * and sweeps leftovers when it answers. Never rejects.
   */
  let engineChecked = false;
  const checkEngine = async (servers: readonly ServerSpec[]) => {
    if (engineChecked || !servers.some(spec => spec.kind === 'docker')) return;
    engineChecked = true;
    const engine = await docker.health();
    // The sweep health() began: bounded and never rejecting, so a slow engine cannot stop the start.
    if (engine.reachable) await docker.sweep();
    else
      log.warn(
        { err: engine.error },
        'the Docker engine is unreachable; Docker servers fail until it answers'
      );
  };
  await checkEngine(config.servers);
  /**
   * Why a server cannot serve now (an unset variable, an unreachable engine, an image that could not
   * be pulled), or undefined.
   */
  const cannotServe = (spec: ServerSpec): string | undefined =>
    spec.unavailable ?? (spec.kind === 'docker' ? docker.problemWith(spec) : undefined);
  const unavailableServers = () =>
    registry.specs().flatMap(spec => {
      const reason = cannotServe(spec);
      return reason === undefined ? [] : [{ server: spec.id, reason }];
    });
  // The gateway as OAuth client of remote servers (`auth: oauth`): its callback is at publicUrl,
  // else at the address it listens on, known once it does.
  let listenOrigin = '';
  const remoteClient = gatewayClientAt(config.raw.gateway.publicUrl ?? (() => listenOrigin));
  const logins = new RemoteLogins({
    store: new RemoteCredentialStore(db, () => loadCredentialKey(path.resolve(settings.stateDir))),
    client: remoteClient,
    log
  });
  const startTimeoutMs = config.raw.defaults.startTimeout * 1000;
  const connectorParts = {
    docker,
    process: new LocalProcessRuntime(),
    log,
    startTimeoutMs,
    oauthProvider: (serverId: string, principal?: string) => logins.provider(serverId, principal)
  };
  const upstreamOf = (spec: ServerSpec, principal?: string) =>
    new Upstream({
      spec,
      connector: connectorFor(spec, connectorParts, principal),
      identity: { name: 'mcp-gateway', version: VERSION },
      log: principal === undefined ? log : log.child({ principal }),
      startTimeoutMs
    });
  const drainSeconds = settings.shutdownDrain ?? DRAIN_SECONDS;
  // The one owner of the set of servers: everything below reads it and follows its changes.
  const registry = new UpstreamRegistry({
    create: spec => {
      if (spec.kind === 'remote' && spec.remote.oauth !== undefined) {
        const { url, oauth, ca } = spec.remote;
        logins.register({
          id: spec.id,
          url,
          oauth,
          ...(ca === undefined ? {} : { fetchFn: fetchTrusting(ca) })
        });
      }
      const base = upstreamOf(spec);
      // Servers with per-user credentials: one upstream per principal besides the server's own.
      const perUser =
        spec.kind === 'remote' && logins.perUser(spec.id)
          ? new PrincipalUpstreams(base, {
              create: principal => upstreamOf(base.spec, principal),
              startLogin: async principal => (await logins.start(base.id, principal)).authorizationUrl,
              log
            })
          : undefined;
      return { upstream: base, perUser };
    },
    drainMs: drainSeconds * 1000,
    log
  });
  registry.load(config.servers);
  const pins = new PinKeeper(
    new PinStore(db),
    log.child({ component: 'pins' }),
    config.servers.map(spec => spec.id)
  );
  const catalog = new Catalog({ upstreams: registry, store: new CatalogStore(db), log, pins });
  // A completed login lists the server at once (as the principal, for per-user credentials), so its
  // tools appear without a call to a name nobody knows yet.
  logins.onLoggedIn((serverId, principal) => void catalog.refresh(serverId, principal || undefined));
  // The profiles (`/mcp/<profile>`): views of the catalog, following reloads.
  const profiles = new Profiles(catalog, config.raw.profiles);

  let sessionsOpen = () => 0;
  const observe = createObservability({
    db,
    log,
    history: config.raw.history,
    upstreams: registry,
    sessionsOpen: () => sessionsOpen(),
    quarantined: () => catalog.quarantinedCounts()
  });
  const reloader = new ConfigReloader({
    file: settings.configFile,
    load: loadOptions,
    running: config,
    registry,
    log,
    onReloaded: ({ ok, trigger, added, changed, removed, problems, at }) =>
      observe.events.publish({ type: 'config_reloaded', ok, trigger, added, changed, removed, problems, at }),
    // A profile added, changed or removed: its sessions and listeners re-list every kind. A removed
    // one's 2026-era handler is let go once told (its listeners' streams end).
    onApplied: applied => {
      for (const profile of profiles.apply(applied.raw.profiles)) {
        notifyProfile(profile);
        if (!profiles.get(profile)) modern.retire(profile);
      }
      // The first Docker server a reload adds: the engine is asked now.
      void checkEngine(applied.servers);
    }
  });
  const gatewaySettings = config.raw.gateway;
  const host = listenHost(settings, gatewaySettings);
  const port = settings.port ?? gatewaySettings.port ?? 8000;
  const security = await createSecurity({
    gateway: gatewaySettings,
    host,
    allowUnauthenticated: settings.allowUnauthenticated,
    db,
    stateDir: path.resolve(settings.stateDir),
    profiles: () => profiles.names(),
    log
  }).catch((error: unknown) => {
    observe.close();
    db.close();
    throw error;
  });

  pins.onEvent(pinEventWiring(observe.events, security.audit));
  const runner = new CallRunner({
    catalog,
    observe: observe.onCall,
    maxResultBytes: gatewaySettings.limits.maxResultBytes
  });
  // A server's log messages sent while serving no request go to the sessions that set a level.
  const logLevels = new SessionLogLevels((principal, serverId) => runner.allowsServer(principal, serverId));
  registry.each(({ upstream }) =>
    upstream.addListener({ onLog: (source, message) => logLevels.broadcast(source.id, message) })
  );
  const subscriptions = new ResourceSubscriptions(catalog, log, (principal, serverId) =>
    runner.allowsServer(principal, serverId)
  );
  const serverOptions = {
    catalog,
    runner,
    logLevels,
    subscriptions,
    name: 'mcp-gateway',
    version: VERSION,
    profiles,
    // Asked when a session opens: servers that cannot serve (see /healthz) are left out, and so are
    // those outside the session's profile.
    instructions: (profile: string | undefined) =>
      describeServers(
        registry
          .specs()
          .filter(spec => cannotServe(spec) === undefined)
          .filter(spec => profile === undefined || profiles.get(profile)?.hasServer(spec.id) === true),
        catalog.instructions()
      ),
    listWaitMs: LIST_WAIT_MS,
    pageSize: PAGE_SIZE,
    inputStates: new InputStates(),
    expose: gatewaySettings.expose
  };
  const newServer = (profile: string | undefined) => createGatewayServer(serverOptions, profile);
  // The hot path answers as the root's and each profile's server does; it leaves to the SDK an
  // endpoint that lists search tools (the profile's `expose`, else the gateway's). Its kept pages
  // also answer the 2025-era sessions' plain `tools/list`.
  const fastPath = new FastPath({
    catalog,
    runner,
    listWaitMs: LIST_WAIT_MS,
    pageSize: PAGE_SIZE,
    serverInfo: { name: serverOptions.name, version: serverOptions.version },
    maxRequestBodySize: MAX_BODY_BYTES,
    inputStates: serverOptions.inputStates,
    profiles,
    expose: gatewaySettings.expose
  });
  const legacy = new LegacySessions(newServer, log, {
    tracker: observe.tracker,
    timeoutMs: gatewaySettings.sessionTimeout * 1000,
    maxSessions: gatewaySettings.limits.maxSessions,
    sessionsPerPrincipal: gatewaySettings.limits.sessionsPerPrincipal,
    // Sessions survive a restart: kept in the state database, with what they set since they opened.
    store: new SessionStore(db),
    stateOf: server => ({ logLevel: logLevels.levelOf(server), subscriptions: subscriptions.urisOf(server) }),
    toolList: new SessionToolList(fastPath)
  });
  logLevels.onChange(server => legacy.stateChanged(server));
  subscriptions.onChange(subscriber => legacy.stateChanged(subscriber));
  sessionsOpen = () => legacy.size;
  const sse = new SseSessions(legacy, newServer);
  const modern = new ModernEndpoint(
    newServer,
    log,
    MAX_BODY_BYTES,
    observe.onModernRequest,
    subscriptions,
    (tool, profile) => {
      if (profile === undefined) return catalog.tool(tool)?.inputSchema;
      try {
        const view = profiles.get(profile);
        return view && catalog.tool(view.toolName(tool))?.inputSchema;
      } catch {
        return undefined; // not the profile's: the call is refused as an unknown tool
      }
    },
    (uri, profile) => {
      try {
        return profiles.get(profile)?.resolveResource(uri) !== undefined;
      } catch {
        return false;
      }
    },
    fastPath
  );
  /** Tells the sessions and listeners of `profile` that every list may have changed. */
  const notifyProfile = (profile: string) => {
    for (const kind of ['tools', 'prompts', 'resources'] as const) {
      legacy.notifyListChanged(kind, profile);
      modern.notifyListChanged(kind, profile);
    }
  };
  catalog.onResourceUpdated(uri => {
    subscriptions.updated(uri);
    modern.notifyResourceUpdated(uri);
  });
  catalog.onChanged(changed => {
    // Templates have no list_changed of their own: resources/list_changed covers them.
    const kind = changed === 'resourceTemplates' ? 'resources' : changed;
    legacy.notifyListChanged(kind);
    modern.notifyListChanged(kind);
    // Each profile hears only of a change to its own lists.
    for (const profile of profiles.touched(changed)) {
      legacy.notifyListChanged(kind, profile);
      modern.notifyListChanged(kind, profile);
    }
  });
  await catalog.start();
  profiles.baseline();

  let accepting = true;
  const allowedHosts = settings.allowedHosts ?? gatewaySettings.allowedHosts ?? [];
  const allowedOrigins = settings.allowedOrigins ?? gatewaySettings.allowedOrigins ?? [];
  const publicHost = gatewaySettings.publicUrl ? new URL(gatewaySettings.publicUrl).hostname : undefined;
  if (!isLoopback(host) && allowedHosts.length === 0 && !publicHost) {
    log.warn(
      { host },
      'bound beyond loopback with no allowed hosts: only requests naming localhost in their Host header are served'
    );
  }
  if (security.mode === 'none' && !isLoopback(host)) {
    log.warn({ host }, 'serving beyond loopback without authentication (--allow-unauthenticated)');
  }
  /**
   * Per-user servers no principal has connected to yet: nothing is listed for them until one logs
   * in and calls (its first call's error offers the login URL).
   */
  const needsLogin = () =>
    registry
      .pools()
      .filter(pool => catalog.capabilitiesOf(pool.base.id) === undefined)
      .map(pool => ({
        server: pool.base.id,
        reason: `credentials: per-user and no principal has connected yet: its tools are listed once one has; each principal logs in on its own (\`mcp-gateway login ${pool.base.id} --token <its token>\`, or the URL its first call's error offers)`
      }));
  const api = createApiRouter({
    servers: new ServerStatuses(registry, catalog),
    catalog,
    queries: observe.queries,
    flushHistory: observe.flushHistory,
    events: observe.events,
    runner,
    audit: security.audit,
    version: VERSION,
    logins,
    reloads: reloader,
    access: security.access
  });
  const app = createApp({
    legacy,
    modern,
    sse,
    health: () => {
      // From what is known: a ping (and the check for images that appeared) runs in the background,
      // so a slow engine cannot make /healthz outlast the image's HEALTHCHECK timeout. The next
      // /healthz reports what it found.
      const engine = usesDocker() ? { docker: docker.healthNow() } : {};
      const unavailable = unavailableServers();
      return {
        status: unavailable.length === 0 ? 'ok' : 'degraded',
        version: VERSION,
        discovering: catalog.discovering,
        sessions: legacy.size,
        ...engine,
        servers: registry
          .all()
          .map(upstream => ({ ...upstream.status(), nextDiscovery: catalog.nextDiscovery(upstream.id) })),
        unavailable,
        needsLogin: needsLogin()
      };
    },
    readiness: async () => {
      const storeProblem = observe.queries.writeProblem();
      const checks = {
        config: true,
        store: storeProblem === undefined,
        ...(usesDocker() ? { docker: (await docker.health()).reachable } : {})
      };
      const problems = Object.entries(checks)
        .filter(([, ok]) => !ok)
        .map(([name]) =>
          name === 'store'
            ? `the state database ${databaseFile} cannot be written (${storeProblem}): free space on its disk or make it writable by this user`
            : 'the Docker engine is unreachable'
        );
      // Draining for a shutdown: nothing new is served, whatever the checks say.
      if (!accepting) problems.unshift('the gateway is shutting down');
      // Servers that cannot serve are reported, not counted against readiness: the others serve.
      return { ready: problems.length === 0, checks, problems, unavailable: unavailableServers() };
    },
    metrics: async () => ({
      contentType: observe.metrics.registry.contentType,
      body: await observe.metrics.registry.metrics()
    }),
    api,
    dashboard: createUiRouter({
      open: security.mode === 'none' && isLoopback(host),
      settings: security.settings,
      audit: security.audit,
      api,
      configFile: path.resolve(settings.configFile),
      stateDir: path.resolve(settings.stateDir),
      maxBodyBytes: MAX_BODY_BYTES,
      loginsPerMinute: DASHBOARD_LOGINS_PER_MINUTE,
      passwordGuesses: security.passwordGuesses
    }),
    remoteOAuth: createRemoteOAuthRouter(logins, remoteClient),
    ownApi: authenticate => createOwnLoginRoutes(logins, security.audit, authenticate),
    security: { metadata: security.metadata, forMcp: security.forMcp, forAdmin: security.forAdmin },
    allowedHosts: [...LOOPBACK_NAMES, ...allowedHosts, ...(publicHost ? [publicHost] : [])],
    allowedOrigins: [...LOOPBACK_NAMES, ...allowedOrigins, ...(publicHost ? [publicHost] : [])],
    maxBodyBytes: MAX_BODY_BYTES,
    profiles: () => profiles.names(),
    accepting: () => accepting,
    log
  });

  // A slow client cannot hold a socket forever: headers and the whole request have deadlines,
  // checked every second rather than Node's default 30.
  const { headersTimeout, requestTimeout } = gatewaySettings.limits;
  const httpServer: HttpServer = createServer(
    {
      headersTimeout: headersTimeout * 1000,
      requestTimeout: Math.max(requestTimeout, headersTimeout) * 1000,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 1_000
    },
    app
  ).listen(port, host);
  try {
    await once(httpServer, 'listening');
  } catch (error) {
    await registry.close();
    docker.close();
    await legacy.closeAll();
    await security.close();
    observe.close();
    db.close();
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new Error(
      `port ${port} on ${host} is in use (another gateway?): stop what listens there, or pick another port with --port or GATEWAY_PORT (npm start -- --port 9000)`,
      { cause: error }
    );
  }
  const address = httpServer.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl}:${address.port}/mcp`;
  listenOrigin = `http://${isWildcard(address.address) ? '127.0.0.1' : hostForUrl}:${address.port}`;
  log.info({ url, servers: config.servers.length, config: config.file }, 'gateway listening');
  if (settings.watchConfig) reloader.watch();
  // Start-up is over once its discovery has settled: give back the memory loading took (reduce-memory.ts),
  // and from then on what each burst of requests leaves behind, once it is over.
  const memory = new MemoryAfterBursts({
    quietMs: QUIET_MS,
    growthBytes: BURST_GROWTH_BYTES,
    reduce: reduceMemory,
    rss: () => process.memoryUsage.rss(),
    busy: () => runner.inFlight > 0 || registry.busy,
    onReduced: (before, after) => log.debug({ before, after }, 'memory given back after a burst of requests'),
    onFailed: error => log.debug({ err: String(error) }, 'memory not given back after a burst of requests')
  });
  httpServer.on('request', () => memory.touch());
  void catalog
    .settled()
    .then(reduceMemory)
    .then(
      () => {
        memory.settle();
        log.debug({ rss: process.memoryUsage.rss() }, 'memory reduced after startup');
      },
      (error: unknown) => log.debug({ err: String(error) }, 'memory not reduced after startup')
    );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      accepting = false;
      reloader.close();
      log.info('shutting down');
      // The listener stays open through the drain: a request that comes meanwhile is answered 503
      // with Retry-After (and /readyz is not ready), not refused at the socket as if nothing ran here.
      const deadline = Date.now() + drainSeconds * 1000;
      const busy = () => runner.inFlight > 0 || registry.busy;
      while (busy() && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50));
      // Calls still running get an answer on their own stream before the sessions close: closing a
      // session (or a server) first would end their streams empty, and clients would wait for
      // their own timeout.
      if (runner.inFlight > 0) {
        log.warn({ calls: runner.inFlight, drainSeconds }, 'calls still running after the drain are failed');
      }
      runner.stopCalls(`the gateway is shutting down and its ${drainSeconds} s drain is over`);
      await Promise.all([legacy.answered(ANSWER_MS), modern.answered(ANSWER_MS), sse.answered(ANSWER_MS)]);
      const stopped = new Promise<void>(resolve => httpServer.close(() => resolve()));
      await legacy.closeAll();
      await modern.close();
      catalog.close();
      await registry.close();
      docker.close();
      httpServer.closeAllConnections();
      await stopped;
      await security.close();
      memory.close();
      observe.close();
      db.close();
      log.info('stopped');
    })();
    return closing;
  };
  return { url, catalog, close, reload: trigger => reloader.reload(trigger) };
}

/** An address that means every interface: a browser on this machine reaches it as loopback. */
function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
