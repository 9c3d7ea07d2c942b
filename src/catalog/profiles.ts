import type { ProfileConfig } from '../config/schema.js';
import type { CapabilityKind } from '../upstream/listing.js';
import type { Catalog } from './catalog.js';
import { ProfileView } from './profile-view.js';

/**
 * The profiles of servers.yaml, as views of one catalog, by name. Follows a reload
 * ({@link apply}): a profile whose settings changed gets a new view, and sessions ask for their
 * profile's view by name on each request, so they see the new one at once.
 */
export class Profiles {
  private views = new Map<string, ProfileView>();
  private configs = new Map<string, string>();

  constructor(
    private readonly catalog: Catalog,
    profiles: Readonly<Record<string, ProfileConfig>> = {}
  ) {
    this.apply(profiles);
  }

  /** The profile names, sorted. */
  names(): string[] {
    return [...this.views.keys()].sort();
  }

  /** The view of profile `name`, or undefined when there is no such profile. */
  get(name: string): ProfileView | undefined {
    return this.views.get(name);
  }

  /** Replaces the profiles; returns the names of those added, removed or changed. */
  apply(profiles: Readonly<Record<string, ProfileConfig>>): string[] {
    const changed: string[] = [];
    const configs = new Map(Object.entries(profiles).map(([name, config]) => [name, JSON.stringify(config)]));
    for (const name of this.configs.keys()) {
      if (!configs.has(name)) {
        this.views.delete(name);
        changed.push(name);
      }
    }
    for (const [name, config] of Object.entries(profiles)) {
      if (this.configs.get(name) === configs.get(name)) continue;
      this.views.set(name, new ProfileView(name, config, this.catalog));
      changed.push(name);
    }
    this.configs = configs;
    return changed.sort();
  }

  /**
   * Takes every profile's lists as they are now for the ones told: after the catalog's startup,
   * which loads the stored lists without telling its listeners.
   */
  baseline(): void {
    for (const view of this.views.values()) view.baseline();
  }

  /** The names of the profiles whose list of `kind` a catalog change has just changed (see {@link ProfileView.touches}). */
  touched(kind: CapabilityKind): string[] {
    return this.names().filter(name => this.views.get(name)!.touches(kind));
  }
}
