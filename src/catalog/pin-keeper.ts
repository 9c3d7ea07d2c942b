import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Announced, Pin, PinStore } from '../store/pin-store.js';
import type { Listing } from '../upstream/listing.js';
import {
  canonicalJson,
  definitionsOf,
  heldItem,
  pinKey,
  review,
  type Held,
  type Trust
} from './definition-pins.js';

/** What the pin keeper tells its listeners (the gateway turns them into events, audit entries, a metric). */
export type PinEvent =
  | { readonly type: 'quarantined'; readonly serverId: string; readonly item: Held }
  | {
      readonly type: 'image_changed';
      readonly serverId: string;
      readonly image: string;
      readonly from: string;
      readonly to: string;
      /** True under `trust: manual`: the server serves no call until the image is approved. */
      readonly held: boolean;
    }
  | {
      readonly type: 'approved';
      readonly serverId: string;
      readonly items: readonly Held[];
      readonly by: string | undefined;
    };

/** The last image change seen of a server, for its status. */
export interface ImageChange {
  readonly image: string;
  readonly from: string;
  readonly to: string;
  readonly at: string;
  readonly held: boolean;
}

/** A server as the keeper needs to know it. */
export interface PinnedServer {
  readonly id: string;
  readonly namespace: string;
  readonly trust: Trust;
  /** The Docker image reference, for a Docker server. */
  readonly image?: string | undefined;
}

/**
 * Each server's pins and what is held back now: the catalog asks it which listed items to serve,
 * the upstream's start asks it about the image id, and approvals go through it. The pins are read
 * once from the store and written through.
 */
export class PinKeeper {
  private readonly pins = new Map<string, Pin[]>();
  private readonly held = new Map<string, Map<string, Held>>();
  private readonly imageChanges = new Map<string, ImageChange>();
  private readonly listeners = new Set<(event: PinEvent) => void>();
  /**
   * What is held and was announced (with the hash announced), by server and key; kept in the store,
   * so that an item still held after a restart is not announced (logged, an event, an audit entry)
   * again.
   */
  private readonly announced = new Map<string, Map<string, Announced>>();

  /**
   * `configured`: the ids of the servers in the config at start-up. The announcements of any other
   * server (removed while the gateway was stopped) are forgotten as a reload's removal would forget
   * them, so that if the server comes back, what it still holds is announced again.
   */
  constructor(
    private readonly store: PinStore,
    private readonly log: Logger,
    configured: Iterable<string>
  ) {
    for (const [serverId, pins] of store.loadAll()) this.pins.set(serverId, pins);
    for (const item of store.loadAnnounced()) this.remember(item);
    const kept = new Set(configured);
    for (const serverId of [...this.announced.keys()]) if (!kept.has(serverId)) this.forget(serverId);
  }

  /** Registers a listener of {@link PinEvent}s; returns its remover. */
  onEvent(listener: (event: PinEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reviews what `server` lists now (after its filters) against its pins: pins what `trust: auto`
   * approves on first sight, and holds what differs (or is new under `trust: manual`). Announces
   * each item that became held. The image hold, if any, is kept.
   */
  reviewListing(
    server: PinnedServer,
    listing: Pick<Listing, 'tools' | 'prompts' | 'resourceTemplates'>
  ): void {
    const found = review(definitionsOf(listing), this.pins.get(server.id) ?? [], server.trust, now());
    this.pin(server.id, found.pin);
    const before = this.held.get(server.id) ?? new Map<string, Held>();
    const after = new Map(found.held.map(item => [pinKey(item.kind, item.name), item]));
    for (const [key, item] of before) if (item.kind === 'image') after.set(key, item);
    this.held.set(server.id, after);
    for (const item of after.values()) {
      if (item.kind === 'image' || this.wasAnnounced(server.id, item)) continue;
      this.log.warn(
        { server: server.id, kind: item.kind, item: item.name, reason: item.reason, fields: item.fields },
        item.reason === 'changed'
          ? `${item.kind} ${item.name} of server ${server.id} changed since it was approved (${item.fields.join(', ')}): quarantined until approved (mcp-gateway approve ${server.id} ${item.name})`
          : `${item.kind} ${item.name} of server ${server.id} is new and the server has trust: manual: held until approved (mcp-gateway approve ${server.id} ${item.name})`
      );
      this.emit({ type: 'quarantined', serverId: server.id, item });
      this.markAnnounced(server.id, item);
    }
    for (const key of this.announced.get(server.id)?.keys() ?? []) {
      if (!after.has(key) && !key.startsWith('image:')) this.unmark(server.id, key);
    }
  }

  /**
   * Reviews a Docker server's image id (`identity`) against its pin, before a start: pinned on first
   * sight under `trust: auto`, held under `trust: manual`. A changed id is reported; under `auto` it
   * is pinned anew (its definitions are still reviewed), under `manual` it is held and the start
   * refused. A new image under `manual` is held, but may start (to list what it offers): calls are
   * refused by {@link refuseHeldImage}.
   */
  reviewImage(server: PinnedServer, identity: string | undefined): void {
    if (server.image === undefined || identity === undefined) return;
    const pinned = this.pins.get(server.id)?.find(pin => pin.kind === 'image' && pin.name === server.image);
    const held = this.held.get(server.id);
    const key = pinKey('image', server.image);
    if (pinned?.hash === identity) {
      held?.delete(key);
      this.unmark(server.id, key);
      return;
    }
    const current = canonicalJson({ image: server.image, id: identity });
    const announced = this.announced.get(server.id)?.get(key)?.hash === identity;
    if (pinned !== undefined && this.imageChanges.get(server.id)?.to !== identity) {
      const change = {
        image: server.image,
        from: pinned.hash,
        to: identity,
        at: now(),
        held: server.trust === 'manual'
      };
      this.imageChanges.set(server.id, change);
      // Announced before a restart (still held with this id): known, not news.
      if (!announced) {
        this.log.warn(
          { server: server.id, image: server.image, from: pinned.hash, to: identity },
          server.trust === 'manual'
            ? `the image ${server.image} of server ${server.id} now has id ${identity}, not the approved ${pinned.hash}: held until approved (mcp-gateway approve ${server.id} image)`
            : `the image ${server.image} of server ${server.id} now has id ${identity}, not ${pinned.hash} (trust: auto: pinned anew; its tools are still checked against their pins)`
        );
        this.emit({ type: 'image_changed', serverId: server.id, ...change });
      }
    }
    if (server.trust === 'auto') {
      this.pin(server.id, [
        {
          kind: 'image',
          name: server.image,
          hash: identity,
          definition: current,
          approvedAt: now(),
          approvedBy: 'auto'
        }
      ]);
      return;
    }
    const item = heldItem('image', server.image, pinned?.definition ?? null, current, identity);
    const map = held ?? new Map<string, Held>();
    this.held.set(server.id, map);
    if (map.get(key)?.hash !== item.hash) {
      map.set(key, item);
      if (!announced && item.reason === 'new') {
        this.log.warn(
          { server: server.id, image: server.image, id: identity },
          `the image ${server.image} (${identity}) of server ${server.id} is not approved yet and the server has trust: manual: it serves no call until approved (mcp-gateway approve ${server.id} image)`
        );
      }
      if (!announced) this.emit({ type: 'quarantined', serverId: server.id, item });
      this.markAnnounced(server.id, item);
    }
    if (pinned !== undefined) throw this.heldImageError(server.id, item);
  }

  /** Refuses a request to `serverId` while its image is held. */
  refuseHeldImage(serverId: string): void {
    const image = [...(this.held.get(serverId)?.values() ?? [])].find(item => item.kind === 'image');
    if (image) throw this.heldImageError(serverId, image);
  }

  private heldImageError(serverId: string, item: Held): GatewayError {
    const what =
      item.reason === 'changed'
        ? `now has image id ${item.hash}, not the one approved`
        : `runs image id ${item.hash}, which is not approved yet (trust: manual)`;
    return new GatewayError(
      'quarantined',
      `server ${serverId}'s image ${item.name} ${what}: it serves no call until approved. Review it (GET /api/quarantine or the dashboard) and approve it with: mcp-gateway approve ${serverId} image`,
      { serverId }
    );
  }

  /** Whether `kind` `name` of `serverId` is held back now. */
  isHeld(serverId: string, kind: Held['kind'], name: string): boolean {
    return this.held.get(serverId)?.has(pinKey(kind, name)) ?? false;
  }

  /** What is held of `serverId` now (none when nothing is). */
  heldOf(serverId: string): Held[] {
    return [...(this.held.get(serverId)?.values() ?? [])];
  }

  /** The last image change seen of `serverId` in this run, if any. */
  imageChange(serverId: string): ImageChange | undefined {
    return this.imageChanges.get(serverId);
  }

  /** Forgets what is held of a server taken out of the config (its pins stay, for if it comes back). */
  forget(serverId: string): void {
    this.held.delete(serverId);
    this.imageChanges.delete(serverId);
    if (this.announced.delete(serverId)) this.writeAnnounced(() => this.store.unannounceServer(serverId));
  }

  /**
   * Approves what is held of `server`: every item, or those `items` name (the server's own name,
   * `kind:name`, the exposed `namespace__name`, or `image`). Naming something not held fails with
   * `not_quarantined`, naming what is. Returns what was approved.
   */
  approve(server: PinnedServer, items: readonly string[], by: string | undefined): Held[] {
    const held = this.heldOf(server.id);
    const listed = held.map(item => `${item.kind} ${item.name}`).join(', ');
    if (held.length === 0) {
      throw new GatewayError(
        'not_quarantined',
        `nothing of server ${server.id} is quarantined: what it offers matches what was approved${items.length > 0 ? ` (asked to approve ${items.join(', ')})` : ''}; GET /api/quarantine lists what is held on every server`,
        { serverId: server.id }
      );
    }
    const chosen =
      items.length === 0 ? held : items.map(item => held.find(h => names(server, h).includes(item)));
    const missing = items.filter((_item, index) => chosen[index] === undefined);
    if (missing.length > 0) {
      throw new GatewayError(
        'not_quarantined',
        `not quarantined on server ${server.id}: ${missing.join(', ')}. Quarantined there: ${listed}; approve those by name, or all with: mcp-gateway approve ${server.id}`,
        { serverId: server.id }
      );
    }
    const approved = [...new Set(chosen as Held[])];
    this.pin(
      server.id,
      approved.map(item => ({
        kind: item.kind,
        name: item.name,
        hash: item.hash,
        definition: item.current,
        approvedAt: now(),
        approvedBy: by ?? null
      })),
      true
    );
    const map = this.held.get(server.id);
    for (const item of approved) {
      map?.delete(pinKey(item.kind, item.name));
      this.unmark(server.id, pinKey(item.kind, item.name));
    }
    this.log.info(
      { server: server.id, items: approved.map(item => `${item.kind}:${item.name}`), by },
      'approved quarantined definitions'
    );
    this.emit({ type: 'approved', serverId: server.id, items: approved, by });
    return approved;
  }

  /** Held items by server, for the metric. */
  counts(): Map<string, number> {
    return new Map([...this.held].map(([serverId, held]) => [serverId, held.size]));
  }

  /**
   * Records `pins`; `strict`: a failed write is thrown (an approval must last), else logged (an
   * automatic pin is made again on the next start).
   */
  private pin(serverId: string, pins: readonly Pin[], strict = false): void {
    if (pins.length === 0) return;
    try {
      this.store.save(serverId, pins);
    } catch (error) {
      if (strict) throw error;
      this.log.error({ server: serverId, err: String(error) }, 'saving pinned definitions failed');
    }
    const replaced = new Set(pins.map(pin => pinKey(pin.kind, pin.name)));
    const kept = (this.pins.get(serverId) ?? []).filter(pin => !replaced.has(pinKey(pin.kind, pin.name)));
    this.pins.set(serverId, [...kept, ...pins]);
  }

  private wasAnnounced(serverId: string, item: Held): boolean {
    return this.announced.get(serverId)?.get(pinKey(item.kind, item.name))?.hash === item.hash;
  }

  private remember(announced: Announced): void {
    const map = this.announced.get(announced.serverId) ?? new Map<string, Announced>();
    this.announced.set(announced.serverId, map);
    map.set(pinKey(announced.kind, announced.name), announced);
  }

  private markAnnounced(serverId: string, { kind, name, hash }: Held): void {
    this.remember({ serverId, kind, name, hash });
    this.writeAnnounced(() => this.store.announce(serverId, kind, name, hash));
  }

  private unmark(serverId: string, key: string): void {
    const entry = this.announced.get(serverId)?.get(key);
    if (!entry) return;
    this.announced.get(serverId)!.delete(key);
    this.writeAnnounced(() => this.store.unannounce(serverId, entry.kind, entry.name));
  }

  /** A failed write of what was announced is logged: at worst an item is announced again after a restart. */
  private writeAnnounced(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.log.error({ err: String(error) }, 'saving which held items were announced failed');
    }
  }

  private emit(event: PinEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** Every name an approval may give `item` by. */
function names(server: PinnedServer, item: Held): string[] {
  const exposed = server.namespace === '' ? item.name : `${server.namespace}__${item.name}`;
  return [item.name, `${item.kind}:${item.name}`, ...(item.kind === 'image' ? ['image'] : [exposed])];
}

function now(): string {
  return new Date().toISOString();
}
