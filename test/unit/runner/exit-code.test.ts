/**
 * exitCodeFor (src/runner/run-sync.ts): DESIGN.md's exit codes for a set of run summaries, and which wins when
 * several syncs end differently. Killed, each checked by hand: every status and code test flipped, `kind ===
 * 'config'` → `true`, the precedence list emptied or reordered, `codes.includes(c)` → `true`.
 */
import { describe, expect, it } from 'vitest';
import { exitCodeFor, type RunSummary } from '../../../src/runner/run-sync.js';
import { ZERO_COUNTS } from '../../../src/state/state-store.js';

const summary = (status: RunSummary['status'], error?: { code: string; kind: string }): RunSummary => ({
  sync: 'users',
  runId: 'r',
  status,
  counts: { ...ZERO_COUNTS },
  apiCalls: 0,
  durationMs: 0,
  ...(error ? { error: { ...error, message: error.code } } : {}),
});

/** One summary of each outcome, named by the exit code it gives alone. */
const BY_CODE = {
  0: summary('success'),
  planned: summary('planned'),
  3: summary('partial'),
  5: summary('failed', { code: 'DBT_UPSTREAM_FAILED', kind: 'runtime' }),
  4: summary('failed', { code: 'STATE_LOCK_HELD', kind: 'runtime' }),
  1: summary('failed', { code: 'DESTINATION_REQUEST_FAILED', kind: 'runtime' }),
  2: summary('failed', { code: 'CONFIG_INVALID', kind: 'config' }),
};

describe('exitCodeFor', () => {
  it('gives each outcome its own code', () => {
    expect(exitCodeFor([])).toBe(0);
    expect(exitCodeFor([BY_CODE[0]])).toBe(0);
    expect(exitCodeFor([BY_CODE.planned])).toBe(0);
    expect(exitCodeFor([BY_CODE[3]])).toBe(3);
    expect(exitCodeFor([BY_CODE[5]])).toBe(5);
    expect(exitCodeFor([BY_CODE[4]])).toBe(4);
    expect(exitCodeFor([BY_CODE[1]])).toBe(1);
    expect(exitCodeFor([BY_CODE[2]])).toBe(2);
    // A failed run without an error (never made by runSync) is a failure all the same.
    expect(exitCodeFor([summary('failed')])).toBe(1);
    // A config error whose code would otherwise mean a held lock is still the lock.
    expect(exitCodeFor([summary('failed', { code: 'STATE_LOCK_HELD', kind: 'config' })])).toBe(4);
  });

  it('lets 2 win over 1 over 4 over 5 over 3 over 0, in any order', () => {
    const order = [2, 1, 4, 5, 3, 0] as const;
    for (const [i, higher] of order.entries()) {
      for (const lower of order.slice(i + 1)) {
        expect(exitCodeFor([BY_CODE[higher], BY_CODE[lower]]), `${higher} over ${lower}`).toBe(higher);
        expect(exitCodeFor([BY_CODE[lower], BY_CODE[higher]]), `${higher} over ${lower}`).toBe(higher);
      }
    }
    expect(exitCodeFor([BY_CODE[0], BY_CODE.planned, BY_CODE[3], BY_CODE[0]])).toBe(3);
  });
});
