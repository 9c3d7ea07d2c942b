import { describe, expect, it } from 'vitest';
import { canMove, reportedState, type LifecycleKind } from '../../src/upstream/lifecycle.js';

const KINDS: LifecycleKind[] = ['stopped', 'starting', 'ready', 'stopping', 'failed', 'closed'];

describe('the upstream lifecycle', () => {
  it('allows exactly the moves its rules name', () => {
    const allowed = KINDS.flatMap(from => KINDS.filter(to => canMove(from, to)).map(to => `${from} → ${to}`));
    expect(allowed).toEqual([
      'stopped → starting',
      'stopped → closed',
      'starting → stopped',
      'starting → ready',
      'starting → failed',
      'ready → stopped',
      'ready → stopping',
      'ready → failed',
      'stopping → stopped',
      'failed → starting',
      'failed → closed'
    ]);
  });

  it('never leaves closed, and reports it as stopped', () => {
    expect(KINDS.some(to => canMove('closed', to))).toBe(false);
    expect(reportedState('closed')).toBe('stopped');
    expect(reportedState('failed')).toBe('failed');
  });
});
