/**
 * Runs whose end could not be written to the state tables (src/state/unrecorded-runs.ts): kept in a local file
 * beside the config (or under the temp directory when that cannot be written), read back per sync and state
 * schema, and settled by the next run into the runs row (in-process on DuckDB).
 *
 * Written for the mutation run (issue 24): each test names the mutants it was checked against by hand (the
 * mutant applied to src, the test seen failing, the mutant reverted).
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZERO_COUNTS } from '../../../src/state/state-store.js';
import {
  keepUnrecordedRun,
  readUnrecordedRuns,
  settleUnrecordedRuns,
  unrecordedRunFiles,
  type UnrecordedRun,
} from '../../../src/state/unrecorded-runs.js';
import { openState, SCHEMA, SYNC, type StateFixture } from './state-fixture.js';

let dir: string;
let savedTmp: string | undefined;
let fx: StateFixture | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-unrecorded-'));
  savedTmp = process.env.TMPDIR;
  // os.tmpdir() reads TMPDIR on each call: the fallback place is inside this test's directory.
  process.env.TMPDIR = path.join(dir, 'tmp');
});
afterEach(async () => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(dir, { recursive: true, force: true });
  await fx?.close();
  fx = undefined;
});

const run = (runId: string, over: Partial<UnrecordedRun> = {}): UnrecordedRun => ({
  runId,
  sync: SYNC,
  stateSchema: SCHEMA,
  error: `disk full in ${runId}`,
  counts: { ...ZERO_COUNTS, applied: 3 },
  apiCalls: 2,
  durationMs: 1500,
  finishedAt: '2026-01-01T01:00:00.000Z',
  ...over,
});

describe('the fallback files', () => {
  // Checked by hand against the name's parts swapped, the hash's `.slice(0, 12)` dropped, and either place's
  // `path.resolve` dropped (a relative config path named as given).
  it('are beside the config, then under the temp directory by a hash of the config path', () => {
    const config = path.join(dir, 'project', 'pqlsync.yml');
    const hash = createHash('sha256').update(config).digest('hex').slice(0, 12);
    expect(unrecordedRunFiles(config, 'st', 'users')).toEqual([
      path.join(dir, 'project', '.pqlsync', 'unrecorded-runs', 'st.users.jsonl'),
      path.join(dir, 'tmp', `pqlsync-${hash}`, 'unrecorded-runs', 'st.users.jsonl'),
    ]);
    const relative = path.relative(process.cwd(), config);
    expect(unrecordedRunFiles(relative, 'st', 'users')).toEqual(unrecordedRunFiles(config, 'st', 'users'));
  });

  // Checked by hand against `mkdirSync`'s `recursive` dropped, the appended line's `\n` dropped (two runs on one
  // line: the second unread), `return file` → `return undefined`, and the catch rethrowing.
  it('keep each run as a JSON line in the first place that can be written, else the next, else none', () => {
    const config = path.join(dir, 'project', 'pqlsync.yml');
    const [near, far] = unrecordedRunFiles(config, SCHEMA, SYNC) as [string, string];
    expect(keepUnrecordedRun(config, run('r1'))).toBe(near);
    expect(keepUnrecordedRun(config, run('r2'))).toBe(near);
    expect(readFileSync(near, 'utf8')).toBe(`${JSON.stringify(run('r1'))}\n${JSON.stringify(run('r2'))}\n`);

    // The config's directory cannot take `.pqlsync/` (a file is in the way): the temp directory takes it.
    const blocked = path.join(dir, 'blocked', 'pqlsync.yml');
    writeFileSync(path.join(dir, 'blocked'), '');
    const [, blockedFar] = unrecordedRunFiles(blocked, SCHEMA, SYNC) as [string, string];
    expect(keepUnrecordedRun(blocked, run('r3'))).toBe(blockedFar);
    expect(readFileSync(blockedFar, 'utf8')).toBe(`${JSON.stringify(run('r3'))}\n`);

    // Neither can: nothing kept, no error.
    process.env.TMPDIR = path.join(dir, 'blocked');
    expect(keepUnrecordedRun(blocked, run('r4'))).toBeUndefined();
    expect(far).not.toBe(blockedFar);
  });

  // Checked by hand against the missing file's `continue` → reading on (a throw), the sync, schema and run-id
  // filter's parts dropped one at a time, and the bad line's catch rethrowing.
  it('are read from both places, for this sync and state schema only, skipping lines cut short', () => {
    const config = path.join(dir, 'project', 'pqlsync.yml');
    expect(readUnrecordedRuns(config, SYNC, SCHEMA)).toEqual({ runs: [], files: [] });
    const [near] = unrecordedRunFiles(config, SCHEMA, SYNC) as [string, string];
    keepUnrecordedRun(config, run('r1'));
    appendFileSync(near, `${JSON.stringify(run('o1', { sync: 'other' }))}\n`);
    appendFileSync(near, `${JSON.stringify(run('s1', { stateSchema: 'other' }))}\n`);
    appendFileSync(near, `${JSON.stringify({ ...run('x'), runId: 7 })}\n`);
    appendFileSync(near, `${JSON.stringify(run('r2')).slice(0, 30)}`);
    expect(readUnrecordedRuns(config, SYNC, SCHEMA)).toEqual({ runs: [run('r1')], files: [near] });
  });
});

describe('settleUnrecordedRuns', () => {
  // Checked by hand against `finishRun`'s status `'failed'` emptied, the error's note dropped, the late
  // `finishedAt` dropped (the store's clock written instead), `forgetUnrecordedRuns` not called, and the returned
  // ids emptied.
  it('writes each kept run into its runs row as failed, with its error and finish time, and forgets the files', async () => {
    fx = await openState();
    const { store, clock } = fx;
    clock.now = new Date('2026-01-01T05:00:00.000Z');
    const started = new Date('2026-01-01T00:00:00.000Z');
    await store.startRun({ runId: 'r1', sync: SYNC, startedAt: started, modelHash: null });
    await store.startRun({ runId: 'r2', sync: SYNC, startedAt: started, modelHash: null });
    await store.finishRun('r2', 'success', ZERO_COUNTS, 0, 1, null);
    const config = path.join(dir, 'project', 'pqlsync.yml');
    const [near, far] = unrecordedRunFiles(config, SCHEMA, SYNC) as [string, string];
    expect(keepUnrecordedRun(config, run('r1'))).toBe(near);
    // r2 was kept under the temp directory (the config's directory could not be written then).
    mkdirSync(path.dirname(far), { recursive: true });
    appendFileSync(far, `${JSON.stringify(run('r2'))}\n`);

    expect(await settleUnrecordedRuns(store, config, SYNC)).toEqual(['r1', 'r2']);
    const runs = await store.listRuns(SYNC, 10);
    expect(
      runs.map((r) => [
        r.runId,
        r.status,
        r.finishedAt?.toISOString(),
        r.error,
        r.counts.applied,
        r.apiCalls,
        r.durationMs,
      ]),
    ).toEqual([
      [
        'r1',
        'failed',
        '2026-01-01T01:00:00.000Z',
        'disk full in r1\n  (recorded by the next run: the state tables could not be written when this run ended)',
        3,
        2,
        1500,
      ],
      ['r2', 'success', '2026-01-01T05:00:00.000Z', null, 0, 0, 1],
    ]);
    expect([existsSync(near), existsSync(far)]).toEqual([false, false]);
    expect(await settleUnrecordedRuns(store, config, SYNC)).toEqual([]);
  });
});
