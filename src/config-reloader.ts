import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { formatProblem, loadConfigFile, type LoadedConfig, type LoadOptions } from './config/load-config.js';
import { describeError } from './errors.js';
import type { Logger } from './log.js';
import type { UpstreamRegistry } from './upstream/upstream-registry.js';

/** Quiet time after the last change to the file before it is read: an editor's save is several events. */
const DEBOUNCE_MS = 300;

/** What asked for a reload. */
export type ReloadTrigger = 'file' | 'signal' | 'api';

/** The outcome of one reload, as logged, answered by `POST /api/reload` and kept for `GET`. */
export interface ReloadResult {
  /** False when the config was refused: nothing changed. */
  readonly ok: boolean;
  readonly trigger: ReloadTrigger;
  /** When it finished (ISO 8601). */
  readonly at: string;
  readonly file: string;
  /** Why the config was refused, as `file:line:col: message`; empty when it was applied. */
  readonly problems: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly unchanged: readonly string[];
  /** The profiles (`profiles:`) the reload added, removed and changed, by name. */
  readonly profiles: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly string[];
  };
  /** Settings that differ from those the gateway started with but apply only at a restart (e.g. `gateway.port`). */
  readonly restartNeeded: readonly string[];
  /** What a person should know (an unset `${VAR}`, every server removed). */
  readonly warnings: readonly string[];
}

export interface ConfigReloaderOptions {
  readonly file: string;
  readonly load: LoadOptions;
  /** The config the gateway started with. */
  readonly running: LoadedConfig;
  readonly registry: UpstreamRegistry;
  readonly log: Logger;
  /** Told of every reload's result, applied or refused. */
  readonly onReloaded?: (result: ReloadResult) => void;
  /** Told of each config applied, after the registry: for the parts that follow a reload besides the servers (profiles). */
  readonly onApplied?: (config: LoadedConfig) => void;
}

/**
 * Reloads servers.yaml while the gateway runs. A config with any problem is refused whole (the
 * running one stays); a good one is applied to the registry by difference. Reloads run one at a
 * time: one asked for while another runs waits for it, and every request that arrives meanwhile
 * shares the one reload that follows (it reads the file as it is then).
 */
export class ConfigReloader {
  private running: LoadedConfig;
  /** The config the process started with: what the settings read only at start still follow. */
  private readonly started: LoadedConfig;
  /** The last reload asked for: the next one runs after it. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The reload waiting to run, shared by every request until it starts. */
  private waiting: Promise<ReloadResult> | undefined;
  private lastResult: ReloadResult | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;

  constructor(private readonly options: ConfigReloaderOptions) {
    this.running = options.running;
    this.started = options.running;
  }

  /** The last reload's result; undefined before the first. */
  get last(): ReloadResult | undefined {
    return this.lastResult;
  }

  /** Reloads the config file (see the class); resolves with what it did. Never rejects. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    if (this.waiting) return this.waiting;
    const waiting = this.queue.then(() => {
      this.waiting = undefined;
      return this.run(trigger);
    });
    this.waiting = waiting;
    this.queue = waiting;
    return waiting;
  }

  /**
   * Watches the config file: a change reloads it, once the file has been quiet for a moment. The
   * directory is watched rather than the file, so an editor that saves by writing a new file and
   * renaming it over the old one is followed too.
   */
  watch(): void {
    const file = path.resolve(this.options.file);
    const name = path.basename(file);
    try {
      this.watcher = watch(path.dirname(file), (_event, changed) => {
        if (changed !== null && changed !== name) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload('file'), DEBOUNCE_MS);
      });
      this.watcher.on('error', error =>
        this.options.log.warn(
          { file, err: describeError(error) },
          `watching ${file} failed: edits to it are no longer applied on their own; reload with SIGHUP, POST /api/reload or mcp-gateway reload`
        )
      );
    } catch (error) {
      this.options.log.warn(
        { file, err: describeError(error) },
        `cannot watch ${file}: edits to it are not applied on their own; reload with SIGHUP, POST /api/reload or mcp-gateway reload`
      );
    }
  }

  /** Stops watching (shutdown). */
  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
  }

  private async run(trigger: ReloadTrigger): Promise<ReloadResult> {
    const { file, log } = this.options;
    const loaded = await loadConfigFile(file, this.options.load);
    const base = {
      trigger,
      file,
      at: '',
      added: [],
      removed: [],
      changed: [],
      unchanged: [],
      profiles: { added: [], removed: [], changed: [] }
    };
    let result: ReloadResult;
    if (!loaded.ok) {
      const problems = loaded.problems.map(formatProblem);
      result = { ...base, ok: false, problems, restartNeeded: [], warnings: [] };
      for (const problem of problems) log.error({ trigger }, problem);
      log.error(
        { trigger, file, problems: problems.length },
        `reload refused: ${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}; the running config stays. Fix them and reload again`
      );
    } else {
      const { config } = loaded;
      const diff = this.options.registry.diff(config.servers);
      // Against the start, not the last reload: a setting changed by an earlier reload still waits
      // for the restart, and one changed back needs none.
      const restartNeeded = restartSettings(this.started, config);
      const warnings = [...config.warnings];
      if (config.servers.length === 0 && this.running.servers.length > 0) {
        warnings.push(
          `${file} lists no servers now: all ${this.running.servers.length} were removed, and clients see empty lists until servers are added back (what the catalog learned of them is kept)`
        );
      }
      // Applied even when nothing differs: the servers kept hear of it (a failed discovery is tried
      // again at once).
      this.options.registry.apply(config.servers);
      this.options.onApplied?.(config);
      const previous = this.running;
      this.running = config;
      result = {
        ...base,
        ok: true,
        problems: [],
        added: diff.added.map(spec => spec.id),
        removed: [...diff.removed],
        // Updated in place or replaced: either way the server's settings changed.
        changed: config.servers
          .filter(spec => [...diff.changed, ...diff.updated].includes(spec))
          .map(spec => spec.id),
        unchanged: [...diff.unchanged],
        profiles: profileChanges(previous, config),
        restartNeeded,
        warnings
      };
      for (const warning of warnings) log.warn({ trigger }, warning);
      for (const setting of restartNeeded) {
        log.warn(
          { trigger, setting },
          `${setting} changed in ${file} but applies only at a restart: restart the gateway to use it`
        );
      }
      const { added, removed, changed, unchanged, profiles } = result;
      log.info(
        { trigger, file, added, removed, changed, unchanged: unchanged.length, profiles },
        'config reloaded'
      );
    }
    this.lastResult = { ...result, at: new Date().toISOString() };
    this.options.onReloaded?.(this.lastResult);
    return this.lastResult;
  }
}

/**
 * The settings outside `servers` that differ between two configs, by path (`gateway.auth.mode`):
 * the gateway reads them once, at its start. `defaults` other than `startTimeout` reach the
 * servers through their specs, so they apply live; so do `profiles` (see `onApplied`).
 */
function restartSettings(before: LoadedConfig, after: LoadedConfig): string[] {
  const { servers: _a, profiles: _p, defaults: beforeDefaults, ...beforeRest } = before.raw;
  const { servers: _b, profiles: _q, defaults: afterDefaults, ...afterRest } = after.raw;
  const paths = changedPaths(beforeRest, afterRest, '');
  if (beforeDefaults.startTimeout !== afterDefaults.startTimeout) paths.push('defaults.startTimeout');
  return paths;
}

/** The profiles `after` adds, removes and changes against `before`, by name. */
function profileChanges(before: LoadedConfig, after: LoadedConfig): ReloadResult['profiles'] {
  const old = before.raw.profiles ?? {};
  const now = after.raw.profiles ?? {};
  const names = (profiles: object) => Object.keys(profiles);
  return {
    added: names(now).filter(name => !(name in old)),
    removed: names(old).filter(name => !(name in now)),
    changed: names(now).filter(name => name in old && JSON.stringify(old[name]) !== JSON.stringify(now[name]))
  };
}

function changedPaths(before: unknown, after: unknown, at: string): string[] {
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap(key => changedPaths(before[key], after[key], at === '' ? key : `${at}.${key}`));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [at];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
