/**
 * Where an upstream is in its life, and what that state holds: the one source of truth for whether
 * the server runs, is on its way, or may not be started. `C` is the upstream's connection.
 */
export type Lifecycle<C> =
  /** Nothing runs; the next request starts the server. */
  | { readonly kind: 'stopped' }
  /** One start runs; every request that needs the server shares `promise`. */
  | { readonly kind: 'starting'; readonly promise: Promise<C> }
  /** Connected and serving. */
  | { readonly kind: 'ready'; readonly connection: C }
  /** The connection is being closed; a start waits for `promise`. */
  | { readonly kind: 'stopping'; readonly promise: Promise<void> }
  /** Too many failures: requests fail at once until `until` (epoch ms), saying `because`. */
  | { readonly kind: 'failed'; readonly until: number; readonly because: string }
  /** The gateway shut it down; nothing starts it again. */
  | { readonly kind: 'closed' };

export type LifecycleKind = Lifecycle<unknown>['kind'];

/** The state an upstream reports (status, `/api`, listeners): `closed` reads as `stopped`. */
export type UpstreamState = Exclude<LifecycleKind, 'closed'>;

/**
 * The moves each state allows. Any other is a bug in the upstream and is refused: a stop's end
 * never overwrites a start, a crash never revives a closed upstream.
 */
const MOVES: Readonly<Record<LifecycleKind, readonly LifecycleKind[]>> = {
  stopped: ['starting', 'closed'],
  starting: ['ready', 'stopped', 'failed'],
  ready: ['stopping', 'stopped', 'failed'],
  stopping: ['stopped'],
  failed: ['starting', 'closed'],
  closed: []
};

/** True when an upstream in state `from` may move to `to`. */
export function canMove(from: LifecycleKind, to: LifecycleKind): boolean {
  return MOVES[from].includes(to);
}

export function reportedState(kind: LifecycleKind): UpstreamState {
  return kind === 'closed' ? 'stopped' : kind;
}
