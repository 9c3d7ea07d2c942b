import type { ProfileConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { CapabilityKind, Listing } from '../upstream/listing.js';
import type { Catalog, KindRoute } from './catalog.js';
import { toolFilter } from './glob.js';
import { shortenToolName } from './tool-names.js';

/** The kinds whose items carry a name a profile may shorten. */
type NamedKind = 'tools' | 'prompts';

/** One kind's list as a profile shows it, and the list of the catalog it was made from. */
interface Shown {
  readonly source: readonly unknown[];
  readonly items: readonly unknown[];
  /** View name → catalog name, for the named kinds. */
  readonly back: ReadonlyMap<string, string>;
}

const KINDS: readonly CapabilityKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];

/**
 * What one profile (`profiles.<name>` in servers.yaml) sees of the catalog: the items of its
 * servers that pass its globs (on exposed names and URIs), with tool and prompt names shortened
 * to its `maxToolNameLength` by the catalog's stable codec. Names resolve back through the view's
 * own map, built from the same list the client was given, so a shortened name always leads to the
 * tool it was listed for; a name outside the profile is unknown here, whatever the catalog holds.
 * The view holds no copy of the catalog: each list is derived from the catalog's current one (and
 * kept until that one changes).
 */
export class ProfileView {
  private readonly servers: ReadonlySet<string>;
  private readonly filters: Record<'tools' | 'prompts' | 'resources', (name: string) => boolean>;
  private readonly shown = new Map<CapabilityKind, Shown>();
  /** Each kind's list as last told to {@link touches}. */
  private readonly told = new Map<CapabilityKind, string>();

  constructor(
    readonly name: string,
    readonly config: ProfileConfig,
    private readonly catalog: Catalog
  ) {
    this.servers = new Set(config.servers);
    this.filters = {
      tools: toolFilter(config.tools ?? {}),
      prompts: toolFilter(config.prompts ?? {}),
      resources: toolFilter(config.resources ?? {})
    };
    this.baseline();
  }

  /** Takes the lists as they are now for the ones told (after a change no listener heard of). */
  baseline(): void {
    for (const kind of KINDS) this.told.set(kind, JSON.stringify(this.listed(kind)));
  }

  /** Whether the profile includes server `serverId`. */
  hasServer(serverId: string): boolean {
    return this.servers.has(serverId);
  }

  /** The profile's items of `kind`; waits for startup discovery like {@link Catalog.list}. */
  async list<K extends CapabilityKind>(kind: K, waitMs: number): Promise<Listing[K]> {
    await this.catalog.list(kind, waitMs);
    return this.listed(kind);
  }

  /** The profile's items of `kind` now. */
  listed<K extends CapabilityKind>(kind: K): Listing[K] {
    return this.show(kind).items as Listing[K];
  }

  /**
   * The catalog name of the tool this profile lists as `name`. A name the catalog does not list
   * (a server whose discovery failed, routed by decoding) passes when its server and the profile's
   * globs allow it. Anything else is an unknown tool, named with the profile.
   */
  toolName(name: string): string {
    return this.catalogName('tools', name);
  }

  /** Where the prompt this profile lists as `name` leads (see {@link toolName}). */
  resolvePrompt(name: string): KindRoute {
    return this.catalog.resolvePrompt(this.catalogName('prompts', name));
  }

  /** Where resource `uri` leads, when it is one of this profile's servers and passes its globs. */
  resolveResource(uri: string): KindRoute {
    const route = this.catalog.resolveResource(uri);
    if (this.servers.has(route.serverId) && this.filters.resources(uri)) return route;
    throw new GatewayError(
      'unknown_resource',
      `Resource URI ${uri} is not in profile ${this.name} (its servers: ${[...this.servers].join(', ')}; profiles.${this.name}.resources in servers.yaml); resources/list on /mcp/${this.name} names every resource it serves`,
      { detail: { uri } }
    );
  }

  /** The server the tool this profile lists as `name` belongs to, or undefined when it has none here. */
  serverOfTool(name: string): string | undefined {
    try {
      return this.catalog.resolve(this.toolName(name)).serverId;
    } catch {
      return undefined;
    }
  }

  /**
   * Whether the profile's list of `kind` differs from the one last told (a catalog change that
   * touches the profile); telling records the new one. Templates count as resources, as in
   * `list_changed`.
   */
  touches(kind: CapabilityKind): boolean {
    const kinds: CapabilityKind[] =
      kind === 'resources' || kind === 'resourceTemplates' ? ['resources', 'resourceTemplates'] : [kind];
    let changed = false;
    for (const each of kinds) {
      const now = JSON.stringify(this.listed(each));
      if (this.told.get(each) !== now) changed = true;
      this.told.set(each, now);
    }
    return changed;
  }

  private catalogName(kind: NamedKind, name: string): string {
    const known = this.show(kind).back.get(name);
    if (known !== undefined) return known;
    const listed =
      kind === 'tools'
        ? this.catalog.isListed(name)
        : this.catalog.listed('prompts').some(p => p.name === name);
    if (!listed && name.length <= this.config.maxToolNameLength && this.filters[kind](name)) {
      try {
        const serverId =
          kind === 'tools' ? this.catalog.resolve(name).serverId : this.catalog.resolvePrompt(name).serverId;
        if (this.servers.has(serverId)) return name;
      } catch (error) {
        // Held back (a changed definition) on one of the profile's servers: that error says how to
        // approve it. Anything else is unknown to the catalog too: answered below.
        if (
          error instanceof GatewayError &&
          error.code === 'quarantined' &&
          this.servers.has(error.serverId ?? '')
        ) {
          throw error;
        }
      }
    }
    const what = kind === 'tools' ? 'tool' : 'prompt';
    throw new GatewayError(
      kind === 'tools' ? 'unknown_tool' : 'unknown_prompt',
      `Unknown ${what}: ${name} is not in profile ${this.name}. ${kind}/list on /mcp/${this.name} names every ${what} it serves`
    );
  }

  private show(kind: CapabilityKind): Shown {
    const source = this.catalog.listed(kind) as readonly unknown[];
    const kept = this.shown.get(kind);
    if (kept?.source === source) return kept;
    const shown =
      kind === 'tools' || kind === 'prompts'
        ? this.named(kind, source as Listing[NamedKind])
        : {
            source,
            back: new Map<string, string>(),
            items: (source as Listing['resources' | 'resourceTemplates']).filter(item => {
              const uri = 'uri' in item ? item.uri : item.uriTemplate;
              return (
                this.inProfile(() => this.catalog.resolveResource(uri).serverId) &&
                this.filters.resources(uri)
              );
            })
          };
    this.shown.set(kind, shown);
    return shown;
  }

  /** The profile's tools or prompts, renamed to fit, and the map back to the catalog's names. */
  private named(kind: NamedKind, source: Listing[NamedKind]): Shown {
    const back = new Map<string, string>();
    const items = source.flatMap(item => {
      const serverOf = () =>
        kind === 'tools'
          ? this.catalog.resolve(item.name).serverId
          : this.catalog.resolvePrompt(item.name).serverId;
      if (!this.filters[kind](item.name) || !this.inProfile(serverOf)) return [];
      const name = this.fitted(item.name, back);
      back.set(name, item.name);
      return [name === item.name ? item : { ...item, name }];
    });
    return { source, items, back };
  }

  /** `name` shortened to the profile's limit, salted again in the (hash) case it is taken. */
  private fitted(name: string, taken: ReadonlyMap<string, string>): string {
    const max = this.config.maxToolNameLength;
    let fitted = shortenToolName(name, max);
    for (let attempt = 1; taken.has(fitted); attempt++)
      fitted = shortenToolName(name, max, `${name}#${attempt}`);
    return fitted;
  }

  private inProfile(serverOf: () => string): boolean {
    try {
      return this.servers.has(serverOf());
    } catch {
      return false;
    }
  }
}
