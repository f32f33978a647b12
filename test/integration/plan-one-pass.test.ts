/**
 * On DuckDB and Postgres the plan is one statement that skips the duplicate-key group-by unless its row counts show
 * a repeated key (see planOnePass). These trials check it against the three-step plan the other warehouses use, on
 * the same state: same counts, same planned rows, over rounds of random edits with duplicate keys (new and already
 * synced), null keys, rejections and parked rows.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { planSync, type PlanSummary } from '../../src/plan/plan-sync.js';
import { runSyncs } from '../../src/runner/run-syncs.js';
import { syncTarget } from '../../src/runner/run-sync.js';
import { StateStore } from '../../src/state/state-store.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/warehouse/postgres/postgres-adapter.js';
import { sqlDialect, type SqlDialect } from '../../src/warehouse/sql-dialect.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import { seeded } from '../helpers/cli.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

const MODEL_SQL = 'select user_id, email, score from src.users';
const MODEL = `/*---\nname: scores\nkey: user_id\n---*/\n${MODEL_SQL}\n`;
const config = (mode: string) => `
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: user_id }
    mode: ${mode}
    max_attempts: 2
    fields: { Email: email, Score__c: score }
`;

/** The same store, planning the way warehouses without materialised CTEs do. */
class ThreeStepStore extends StateStore {
  override readonly d: SqlDialect = { ...sqlDialect(this.wh.dialect), onePassPlan: undefined };
}

let server: TestPostgres | undefined;
let databases = 0;
afterAll(async () => {
  await server?.stop();
});

describe.each(['duckdb', 'postgres'] as const)('one-pass plan on %s', (engine) => {
  let p: TempProject;
  let wh: WarehouseAdapter;
  /** `1 .. n` as a one-column table `t(i)`. */
  const series = (n: number) =>
    engine === 'postgres' ? `generate_series(1, ${n}) t(i)` : `range(1, ${n + 1}) t(i)`;

  beforeAll(async () => {
    if (engine === 'postgres') server ??= await startTestPostgres();
  }, 120_000);

  beforeEach(async () => {
    p = tempProject();
    p.writeModel('scores', MODEL);
    wh =
      engine === 'postgres'
        ? new PostgresAdapter({ url: await server!.createDatabase(`plan_one_pass_${++databases}`) })
        : new DuckdbAdapter({ path: `${p.dir}/wh.duckdb` });
    await wh.connect();
    await wh.query('create schema src');
    await wh.query('create table src.users (user_id integer, email varchar, score integer)');
  });

  afterEach(async () => {
    await wh.close();
    p.cleanup();
  });

  const plan = async (store: StateStore, mode: string) => {
    const loaded = loadConfig(p.configPath);
    const target = syncTarget('users', { ...loaded.config.syncs.users!, mode: mode as 'upsert' }, 'user_id');
    const summary = await planSync({
      store,
      target,
      model: { dialect: wh.dialect, sql: MODEL_SQL, params: [] },
      keyColumn: 'user_id',
      modelFile: 'models/scores.sql',
      maxAttempts: 2,
      dryRun: true,
    });
    const { rows } = await wh.query(
      `select __pqlsync_pk as pk, __pqlsync_op as op, __pqlsync_attempts as attempts, __pqlsync_prev as prev,
         __pqlsync_hash as hash, email, score
       from ${summary.planTable} where __pqlsync_op in ('added', 'changed', 'removed', 'parked')
       order by pk, op, hash`,
    );
    const { planTable: _t, workTables: _w, ...counts } = summary;
    return { counts, rows };
  };

  it('finds a repeated key among synced rows even when every copy equals the snapshot', async () => {
    p.writeConfig(config('mirror'));
    await wh.query(`insert into src.users select i, 'u' || i || '@example.com', i from ${series(10)}`);
    const dest = new MemoryDestination();
    const sync = async () =>
      (
        await runSyncs({
          loaded: loadConfig(p.configPath),
          syncs: ['users'],
          warehouse: wh,
          destination: async () => dest,
        })
      )[0]!;
    expect((await sync()).counts).toMatchObject({ added: 10, applied: 10 });
    // Exact copies of synced rows: nothing in the plan shows them, only the counts do.
    await wh.query('insert into src.users select * from src.users where user_id in (3, 4)');
    const { counts } = await plan(new StateStore(wh, 'pqlsync_state'), 'mirror');
    expect(counts).toMatchObject({
      modelRows: 12,
      validRows: 8,
      invalid: { nullKeys: 0, duplicateKeyRows: 4, sampleDuplicateKeys: ['3', '4'] },
      snapshotRows: 10,
      added: 0,
      changed: 0,
      removed: 0,
    });
    const s = await sync();
    expect(s.counts).toMatchObject({ invalid: 4, removed: 0, applied: 0 });
    expect(dest.records.get('Lead')!.get('3')).toMatchObject({ Email: 'u3@example.com' });
  });

  it.runIf(engine === 'postgres')(
    'drops the three-step plan tables an older version left in the state schema',
    async () => {
      p.writeConfig(config('upsert'));
      await wh.query(`insert into src.users select i, 'u' || i || '@example.com', i from ${series(3)}`);
      await wh.query('create schema pqlsync_state');
      await wh.query('create table pqlsync_state.users__current (k text)');
      await wh.query('create table pqlsync_state.users__dups (k text)');
      const run = await runSyncs({
        loaded: loadConfig(p.configPath),
        syncs: ['users'],
        warehouse: wh,
        destination: async () => new MemoryDestination(),
      });
      expect(run[0]!.counts).toMatchObject({ added: 3, applied: 3 });
      const { rows } = await wh.query(
        `select table_name as t from information_schema.tables where table_schema = 'pqlsync_state' order by 1`,
      );
      expect(rows.map((r) => r.t)).not.toContain('users__current');
      expect(rows.map((r) => r.t)).not.toContain('users__dups');
      expect(rows.map((r) => r.t)).toContain('users__plan');
    },
  );

  it.each([1, 2, 3, 4, 5, 6])(
    'seed %i: same counts and planned rows as the three-step plan',
    async (seed) => {
      const rand = seeded(seed);
      const pick = (n: number) => Math.floor(rand() * n);
      const mode = seed % 2 === 0 ? 'mirror' : 'upsert';
      p.writeConfig(config(mode));
      const dest = new MemoryDestination();
      // The first rows repeat keys among themselves; later ones bring new keys, so the only repeats after the first
      // round are copies of keys already synced (which the one-pass plan finds by counting).
      let nextKey = 61;
      const insert = async (n: number, fresh: boolean) => {
        const values = Array.from({ length: n }, () => {
          const key = rand() < 0.05 ? 'null' : String(fresh ? nextKey++ : 1 + pick(60));
          return `(${key}, 'u${pick(5)}@example.com', ${pick(4)})`;
        });
        await wh.query(`insert into src.users values ${values.join(', ')}`);
      };
      await insert(50, false);
      const seen: PlanSummary['invalid'][] = [];
      let snapshotDuplicates = 0;
      for (let round = 0; round < 6; round++) {
        const onePass = await plan(new StateStore(wh, 'pqlsync_state'), mode);
        const threeStep = await plan(new ThreeStepStore(wh, 'pqlsync_state'), mode);
        expect(onePass.counts, `round ${round}`).toEqual(threeStep.counts);
        expect(onePass.rows, `round ${round}`).toEqual(threeStep.rows);
        seen.push(onePass.counts.invalid);
        if (onePass.counts.invalid.duplicateKeyRows > 0 && onePass.counts.snapshotRows > 0)
          snapshotDuplicates++;

        dest.rejectKeys.clear();
        for (let i = 0; i < 3; i++) dest.rejectKeys.set(String(1 + pick(60)), 'rejected by the test');
        const [s] = await runSyncs({
          loaded: loadConfig(p.configPath),
          syncs: ['users'],
          warehouse: wh,
          destination: async () => dest,
          allowMassRemoval: true,
        });
        expect(['success', 'partial']).toContain(s!.status);

        // Move the data: a few edits, removals, duplicates of synced keys and new rows.
        await wh.query(`update src.users set score = score + 1 where user_id % 7 = ${pick(7)}`);
        await wh.query(`delete from src.users where user_id % 9 = ${pick(9)}`);
        await wh.query(`insert into src.users select * from src.users where user_id % 11 = ${pick(11)}`);
        await wh.query(`delete from src.users where user_id in (
        select user_id from src.users group by user_id having count(*) > 1 order by user_id limit ${pick(4)})`);
        await insert(5 + pick(10), true);
      }
      // The trials did exercise what they are for: repeated keys among rows already synced.
      expect(snapshotDuplicates).toBeGreaterThan(0);
      expect(seen.some((i) => i.nullKeys > 0)).toBe(true);
    },
  );
});
