/**
 * One suite every warehouse adapter must pass, with the same assertions: values, binds, quoting, streaming, the
 * plan/commit cycle through runSyncs, state tables and locks.
 */
import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { RetryPolicy } from '../../src/destination/batch-writer.js';
import { PqlsyncError } from '../../src/errors/pqlsync-error.js';
import { compileModel } from '../../src/model/compile-model.js';
import { loadModel } from '../../src/model/model-file.js';
import { exitCodeFor } from '../../src/runner/run-sync.js';
import { runSyncs } from '../../src/runner/run-syncs.js';
import { StateStore, STATE_VERSION } from '../../src/state/state-store.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { SqlBuilder, sqlDialect, type SqlDialect } from '../../src/warehouse/sql-dialect.js';
import type { BindType, WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import { FaultyWarehouse } from '../helpers/faulty-warehouse.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';
import { conformanceWarehouses, seedUsers } from './warehouses.js';

setLogger(createLogger({ level: 'silent' }));

const MODEL = `/*---
name: scores
description: test scores
key: user_id
params:
  min_score: { type: integer, default: 0, min: 0, max: 100 }
---*/
select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :min_score
`;

const TIERS_MODEL = `/*---
name: tiered
key: user_id
params:
  tiers: { type: 'string[]', default: [] }
---*/
select user_id, email from src.users
where case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end {{ in_list(tiers) }}
`;

const config = (mode = 'upsert', extra = '') => `
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: user_id }
    mode: ${mode}
    fields:
      Email: email
      Score__c: score
      Tier__c: tier
${extra}`;

const T0 = new Date('2026-01-05T10:00:00.000Z');

describe.each(conformanceWarehouses())('warehouse conformance: $name', (w) => {
  let p: TempProject;
  let wh: WarehouseAdapter;
  let d: SqlDialect;
  let dest: MemoryDestination;

  beforeAll(async () => {
    await w.start();
  });
  afterAll(async () => {
    await w.stop();
  });

  beforeEach(async () => {
    p = tempProject();
    p.writeModel('scores', MODEL);
    p.writeModel('tiered', TIERS_MODEL);
    p.writeConfig(config());
    wh = await w.open();
    d = sqlDialect(wh.dialect);
    await seedUsers(
      wh,
      Array.from({ length: 300 }, (_, i) => [i + 1, `u${i + 1}@example.com`, ((i + 1) * 7) % 100]),
    );
    dest = new MemoryDestination();
  });

  afterEach(async () => {
    await wh.close();
    p.cleanup();
  });

  const users = () => d.table('src', 'users');
  const run = async (
    opts: {
      dryRun?: boolean;
      allowMassRemoval?: boolean;
      vars?: Record<string, unknown>;
      retry?: Partial<RetryPolicy>;
    } = {},
  ) => {
    const loaded = loadConfig(p.configPath);
    const [s] = await runSyncs({
      loaded,
      syncs: ['users'],
      warehouse: wh,
      destination: async () => dest,
      ...opts,
    });
    return s!;
  };
  const select1 = async (expr: (b: SqlBuilder) => string) => {
    const b = new SqlBuilder(d);
    const { rows } = await wh.query(b.build(`select ${expr(b)} as v`));
    return rows[0]?.v;
  };

  // ---- values ----------------------------------------------------------------------------------------------

  it('round-trips every value type through a bind and a cast', async () => {
    const t = { ...w.sqlTypes, ...d.types };
    const cases: [BindType, unknown, string, unknown][] = [
      ['integer', 42, t.integer, 42],
      ['integer', -7, t.bigint, -7],
      ['integer', 9007199254740993n, t.bigint, 9007199254740993n],
      ['number', 1234.5678, t.numeric, 1234.5678],
      ['number', 0.1, t.double, 0.1],
      ['boolean', true, t.boolean, true],
      ['boolean', false, t.boolean, false],
      ['date', '2024-02-29', t.date, '2024-02-29'],
      ['timestamp', new Date('2024-03-10T12:34:56.789Z'), t.timestamp, new Date('2024-03-10T12:34:56.789Z')],
      [
        'string',
        'Zoë — 東京 🚀 "dq" \'sq\' \\ :name @p $1 ?',
        t.text,
        'Zoë — 東京 🚀 "dq" \'sq\' \\ :name @p $1 ?',
      ],
      ['string', null, t.text, null],
      ['integer', null, t.bigint, null],
    ];
    const got = [];
    for (const [type, value, sqlType] of cases)
      got.push(await select1((b) => `cast(${b.param(value, type, 'v')} as ${sqlType})`));
    expect(got).toEqual(cases.map((c) => c[3]));
  });

  it('round-trips every value type through a table (insertRows and select)', async () => {
    const t = { ...w.sqlTypes, ...d.types };
    await wh.query(
      `create table ${d.table('src', 'types_rt')} (id ${t.integer}, i ${t.integer}, big ${t.bigint}, num ${t.numeric},
        f ${t.double}, b ${t.boolean}, dt ${t.date}, ts ${t.timestamp}, s ${t.text})`,
    );
    const ts = new Date('2023-12-31T23:59:59.123Z');
    await wh.insertRows(
      'src.types_rt',
      ['id', 'i', 'big', 'num', 'f', 'b', 'dt', 'ts', 's'],
      [
        [
          1,
          2147483647,
          9007199254740993n,
          99999999.9999,
          -1.5e-7,
          true,
          '1999-12-31',
          ts,
          'Ünïcødé 🎉 \'quoted\' "x"',
        ],
        [2, null, null, null, null, null, null, null, null],
      ],
    );
    const { rows } = await wh.query(
      `select i, big, num, f, b, dt, ts, s from ${d.table('src', 'types_rt')} order by id`,
    );
    expect(rows).toEqual([
      {
        i: 2147483647,
        big: 9007199254740993n,
        num: 99999999.9999,
        f: -1.5e-7,
        b: true,
        dt: '1999-12-31',
        ts,
        s: 'Ünïcødé 🎉 \'quoted\' "x"',
      },
      { i: null, big: null, num: null, f: null, b: null, dt: null, ts: null, s: null },
    ]);
  });

  // ---- binds -----------------------------------------------------------------------------------------------

  it('binds arrays per dialect, including an empty one, and never reads placeholders inside strings', async () => {
    const hit = (values: string[]) =>
      select1((b) => `case when ${d.inList("'pql'", b, values)} then 1 else 0 end`);
    expect([await hit(['hot', 'pql']), await hit(['hot']), await hit([])]).toEqual([1, 0, 0]);
    // Literal text that looks like every dialect's placeholder stays text.
    expect(await select1(() => `'$1 :1 @p1 ? :name'`)).toBe('$1 :1 @p1 ? :name');
    // A repeated bind name is reused (named dialects) or repeated (positional ones): same result either way.
    const n = (b: SqlBuilder) => `cast(${b.param(20, 'integer', 'n')} as ${d.types.bigint})`;
    const twice = await select1((b) => `${n(b)} + ${n(b)}`);
    expect(Number(twice)).toBe(40);
  });

  it('compiles a model with a string[] param for this dialect and runs it', async () => {
    const model = await loadModel(`${p.dir}/models`, 'tiered', wh.dialect);
    const count = async (tiers: string[]) => {
      const compiled = compileModel(model, { dialect: wh.dialect, vars: { tiers } });
      return (await wh.query(compiled)).rows.length;
    };
    // scores are (i * 7) % 100 for i = 1..300: 90 rows >= 70, 90 in [40, 70), 120 below 40
    expect([await count(['hot']), await count(['hot', 'pql']), await count([])]).toEqual([90, 180, 0]);
  });

  it('insertRows maps columns by name, and a transaction that throws keeps none of its rows', async () => {
    const table = d.table('src', 'tx_rows');
    await wh.query(
      `create table ${table} (k ${d.types.text}, n ${d.types.bigint}, seen_at ${d.types.timestamp})`,
    );
    await wh.insertRows(
      'src.tx_rows',
      ['seen_at', 'k', 'n'],
      [[new Date('2026-01-02T03:04:05Z'), 'kept', 1]],
    );
    await expect(
      wh.transaction(async (tx) => {
        await tx.insertRows('src.tx_rows', ['n', 'k'], [[2, 'gone']]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await wh.query(`select k, n, seen_at from ${table} order by k`);
    expect(rows.map((r) => [r.k, Number(r.n), new Date(r.seen_at as string).toISOString()])).toEqual([
      ['kept', 1, '2026-01-02T03:04:05.000Z'],
    ]);
  });

  // ---- identifiers -----------------------------------------------------------------------------------------

  it('quotes reserved words and mixed-case names so they round-trip', async () => {
    const table = d.table('src', 'order');
    await wh.query(
      `create table ${table} (${d.quote('select')} ${d.types.bigint}, ${d.quote('Group Name')} ${d.types.text})`,
    );
    await wh.insertRows('src.order', ['select', 'Group Name'], [[1, 'Ada']]);
    const { rows } = await wh.query(
      `select ${d.quote('select')} as a, ${d.quote('Group Name')} as b from ${table}`,
    );
    expect(rows).toEqual([{ a: 1, b: 'Ada' }]);
    expect(await wh.tableExists('src', 'order')).toBe(true);
    expect(await wh.tableExists('src', 'nope')).toBe(false);
  });

  // ---- streaming -------------------------------------------------------------------------------------------

  it('streams a result in bounded chunks, and an abandoned stream frees its connection', async () => {
    // 4,500 rows: past DuckDB's 2,048-row vectors twice (the adapter regroups them), two insert statements where
    // an adapter slices its inserts at 4,000 binds, three at Redshift's 2,000; ten chunks of the size asked for.
    const N = 4_500;
    await wh.query(`create table ${d.table('src', 'numbers')} (n ${d.types.bigint})`);
    await wh.insertRows(
      'src.numbers',
      ['n'],
      Array.from({ length: N }, (_, i) => [i + 1]),
    );
    const sizes: number[] = [];
    let sum = 0;
    for await (const chunk of wh.stream(`select n from ${d.table('src', 'numbers')} order by n`, {
      chunkSize: 450,
    })) {
      sizes.push(chunk.length);
      for (const r of chunk) sum += Number(r.n);
    }
    expect(sizes).toEqual(Array.from({ length: 10 }, () => 450));
    expect(sum).toBe((N * (N + 1)) / 2);
    // Break out early more times than any pool has connections: each stream must give its connection back.
    for (let i = 0; i < 6; i++) {
      for await (const chunk of wh.stream(`select n from ${d.table('src', 'numbers')} order by n`, {
        chunkSize: 100,
      })) {
        expect(chunk).toHaveLength(100);
        break;
      }
    }
    expect(
      Number((await wh.query(`select count(*) as n from ${d.table('src', 'numbers')}`)).rows[0]?.n),
    ).toBe(N);
  });

  // ---- plan / commit cycle -----------------------------------------------------------------------------------

  it('sends every row once, then nothing on an unchanged rerun', async () => {
    const first = await run();
    expect(first.status).toBe('success');
    expect(first.counts).toMatchObject({ added: 300, changed: 0, removed: 0, applied: 300, rejected: 0 });
    expect(dest.records.get('Lead')?.size).toBe(300);
    expect(dest.records.get('Lead')?.get('7')).toEqual({
      Email: 'u7@example.com',
      Score__c: 49,
      Tier__c: 'pql',
    });
    const callsBefore = dest.calls;
    const second = await run();
    expect(second.counts).toMatchObject({ added: 0, changed: 0, removed: 0, applied: 0 });
    expect(dest.calls).toBe(callsBefore);
  });

  it('plans added, changed and removed exactly; plan writes nothing', async () => {
    const dry = await run({ dryRun: true });
    expect(dry.status).toBe('planned');
    expect(dry.counts.added).toBe(300);
    expect(await wh.tableExists('pqlsync_state', 'runs')).toBe(false);
    await run();
    await wh.query(`update ${users()} set score = mod(score + 5, 100) where user_id <= 10`);
    await wh.query(`delete from ${users()} where user_id between 11 and 14`);
    await wh.insertRows('src.users', ['user_id', 'email', 'score'], [[1001, 'new@example.com', 90]]);
    const plan = await run({ dryRun: true });
    expect(plan.counts).toMatchObject({ added: 1, changed: 10, removed: 4 });
    const real = await run();
    expect(real.counts).toMatchObject({ added: 1, changed: 10, removed: 4, applied: 11 });
    expect(dest.written.filter((x) => x.kind === 'removed')).toHaveLength(0);
    expect(dest.records.get('Lead')?.get('1001')).toEqual({
      Email: 'new@example.com',
      Score__c: 90,
      Tier__c: 'hot',
    });
  });

  it('counts null and duplicate keys as invalid and never sends them', async () => {
    await wh.insertRows(
      'src.users',
      ['user_id', 'email', 'score'],
      [
        [null, 'nokey@example.com', 50],
        [7, 'dup@example.com', 10],
      ],
    );
    const s = await run();
    expect(s.counts).toMatchObject({ added: 299, invalid: 3, applied: 299 });
    expect(dest.records.get('Lead')!.has('7')).toBe(false);
  });

  it('keeps rejected rows in failures and retries exactly them until accepted', async () => {
    dest.rejectKeys.set('5', 'INVALID_EMAIL_ADDRESS: bad email');
    dest.rejectKeys.set('6', 'INVALID_EMAIL_ADDRESS: bad email');
    const first = await run();
    expect(first.status).toBe('partial');
    expect(exitCodeFor([first])).toBe(3);
    expect(first.counts).toMatchObject({ applied: 298, rejected: 2 });
    const store = new StateStore(wh, 'pqlsync_state');
    const failures = await store.failures('users');
    expect(failures.map((f) => [f.key, f.attempts, f.reason])).toEqual([
      ['5', 1, 'INVALID_EMAIL_ADDRESS: bad email'],
      ['6', 1, 'INVALID_EMAIL_ADDRESS: bad email'],
    ]);
    dest.written.length = 0;
    const second = await run();
    expect(second.counts).toMatchObject({ added: 2, retried: 2, rejected: 2, applied: 0 });
    expect((await store.failures('users')).map((f) => f.attempts)).toEqual([2, 2]);
    dest.rejectKeys.clear();
    const third = await run();
    expect(third.counts).toMatchObject({ added: 2, retried: 2, applied: 2 });
    expect(dest.written.map((x) => x.key).sort()).toEqual(['5', '6']);
    expect(await store.failures('users')).toHaveLength(0);
  });

  it('a changed row that is rejected keeps its old values in the snapshot', async () => {
    await run();
    await wh.query(`update ${users()} set score = 99 where user_id = 3`);
    dest.rejectKeys.set('3', 'FIELD_CUSTOM_VALIDATION_EXCEPTION');
    await run();
    const b = new SqlBuilder(d);
    const snap = await wh.query(
      b.build(
        `select values_json from ${d.table('pqlsync_state', 'users__snapshot')} where key = ${b.param('3', 'string')}`,
      ),
    );
    expect(JSON.parse(String(snap.rows[0]!.values_json)).Score__c).toBe(21);
  });

  it('a stop error commits what was applied and fails the run; the rerun converges', async () => {
    dest.stopAfterBatches = {
      after: 2,
      error: new PqlsyncError('DESTINATION_DAILY_LIMIT', 'daily API limit reached (15000/15000)'),
    };
    const s = await run();
    expect(s.status).toBe('failed');
    expect(s.counts.applied).toBe(100);
    const runs = await new StateStore(wh, 'pqlsync_state').listRuns('users', 5);
    expect(runs[0]).toMatchObject({ status: 'failed', error: 'daily API limit reached (15000/15000)' });
    dest.stopAfterBatches = undefined;
    const again = await run();
    expect(again.counts).toMatchObject({ added: 200, applied: 200 });
    expect(dest.records.get('Lead')!.size).toBe(300);
  });

  it('mirror mode clears removed rows and guards against mass removal', async () => {
    p.writeConfig(config('mirror', '    on_remove: { Is_PQL__c: false }'));
    await run();
    await wh.query(`delete from ${users()} where user_id <= 3`);
    const s = await run();
    expect(s.counts).toMatchObject({ removed: 3, applied: 3 });
    expect(dest.records.get('Lead')!.get('1')).toEqual({
      Email: null,
      Score__c: null,
      Tier__c: null,
      Is_PQL__c: false,
    });
    await wh.query(`delete from ${users()} where user_id <= 100`);
    const guarded = await run();
    expect(guarded.status).toBe('failed');
    expect(guarded.error?.message).toBe(
      'sync users: this run would remove 97 of 297 synced records (32.7%), above max_removed_pct 20; refusing\n  hint: check the model; rerun with --allow-mass-removal if this is intended',
    );
    const allowed = await run({ allowMassRemoval: true });
    expect(allowed.counts).toMatchObject({ removed: 97, applied: 97 });
  });

  // ---- state schema ----------------------------------------------------------------------------------------

  it('creates the state schema once, idempotently, and refuses a newer layout', async () => {
    const store = new StateStore(wh, 'pqlsync_state');
    expect(await store.stateVersion()).toBeUndefined();
    await store.ensureStateTables();
    await store.ensureStateTables();
    expect(await store.stateVersion()).toBe(STATE_VERSION);
    const meta = await wh.query(`select name, value from ${store.table('meta')}`);
    expect(meta.rows).toEqual([{ name: 'state_version', value: String(STATE_VERSION) }]);
    for (const t of ['meta', 'runs', 'locks']) expect(await wh.tableExists('pqlsync_state', t)).toBe(true);
    const b = new SqlBuilder(d);
    await wh.query(
      b.build(
        `update ${store.table('meta')} set value = ${b.param(String(STATE_VERSION + 1), 'string')} where name = 'state_version'`,
      ),
    );
    await expect(store.ensureStateTables()).rejects.toThrow(
      `the state schema pqlsync_state was written by a newer pqlsync (layout ${STATE_VERSION + 1}; this one knows ${STATE_VERSION})`,
    );
  });

  // ---- locks -----------------------------------------------------------------------------------------------

  it('holds a lock against other runs until its lease expires, renews it, and takes over an expired one', async () => {
    let now = T0;
    const store = new StateStore(wh, 'pqlsync_state', () => now);
    await store.ensureStateTables();
    await store.startRun({ runId: 'run-a', sync: 'users', startedAt: T0, modelHash: null });
    await store.acquireLock('users', 'run-a', 60);
    now = new Date(T0.getTime() + 30_000);
    const held = await store.acquireLock('users', 'run-b', 60).catch((e: unknown) => e);
    expect(held).toBeInstanceOf(PqlsyncError);
    expect((held as PqlsyncError).code).toBe('STATE_LOCK_HELD');
    expect((held as PqlsyncError).message).toBe(
      `another run holds the lock: run run-a on ${hostname()} (pid ${process.pid}) since 2026-01-05T10:00:00.000Z`,
    );
    await store.heartbeat('users', 'run-a', 60);
    now = new Date(T0.getTime() + 75_000);
    await expect(store.acquireLock('users', 'run-b', 60)).rejects.toThrow(
      'another run holds the lock: run run-a',
    );
    now = new Date(T0.getTime() + 91_000);
    await store.acquireLock('users', 'run-b', 60);
    expect((await store.lockHolder('users'))?.runId).toBe('run-b');
    const [abandoned] = await store.listRuns('users', 1);
    expect(abandoned).toMatchObject({
      runId: 'run-a',
      status: 'abandoned',
      error: 'abandoned: lease expired',
    });
    await store.releaseLock('users', 'run-b');
    expect(await store.lockHolder('users')).toBeUndefined();
  });

  it('of two runs that both found the lock free, the one that sees the other stands back', async () => {
    const store = new StateStore(wh, 'pqlsync_state');
    await store.ensureStateTables();
    await store.acquireLock('users', 'run-a', 60);
    // run-b read the lock table before run-a's row was committed, so it found no holder: its first read of the
    // holder is answered with no rows; everything else reaches the warehouse.
    let answered = 0;
    const late = new FaultyWarehouse(wh, [
      {
        method: 'query',
        match: /^select sync, run_id, host, pid/,
        nth: 1,
        answerRows: [],
        before: () => void answered++,
      },
    ]);
    await expect(new StateStore(late, 'pqlsync_state').acquireLock('users', 'run-b', 60)).rejects.toThrow(
      'another run holds the lock: run run-a',
    );
    expect(answered).toBe(1);
    const { rows } = await wh.query(`select run_id from ${d.table('pqlsync_state', 'locks')}`);
    expect(rows.map((r) => r.run_id)).toEqual(['run-a']);
  });

  it('refuses a run while another holds the lock (exit 4), and takes over a dead holder', async () => {
    const store = new StateStore(wh, 'pqlsync_state');
    await store.ensureStateTables();
    await store.acquireLock('users', 'other-run', 600);
    const b = new SqlBuilder(d);
    await wh.query(
      b.build(
        `update ${store.table('locks')} set host = ${b.param('other-host', 'string')} where sync = 'users'`,
      ),
    );
    const s = await run();
    expect(s.status).toBe('failed');
    expect(exitCodeFor([s])).toBe(4);
    expect(s.error?.message).toMatch(
      /^sync users: another run holds the lock: run other-run on other-host \(pid \d+\) since /,
    );
    const b2 = new SqlBuilder(d);
    await wh.query(
      b2.build(
        `update ${store.table('locks')} set host = ${b2.param(hostname(), 'string')}, pid = ${b2.param(999999, 'integer')} where sync = 'users'`,
      ),
    );
    expect((await run()).status).toBe('success');
  });
});
