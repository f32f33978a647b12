/**
 * Conformance cases for each engine's own semantics (issue 18): column names in the engine's own case, the
 * first plan of a sync that never ran, booleans and dates in the row hash, an unambiguous hash encoding, a
 * commit of more keys than one chunk or insert holds, and lookups of more keys than an engine takes in one IN list.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { hashColumns } from '../../src/plan/plan-sync.js';
import { exitCodeFor, syncTarget } from '../../src/runner/run-sync.js';
import { runSyncs } from '../../src/runner/run-syncs.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { queryByList, SqlBuilder, sqlDialect, type SqlDialect } from '../../src/warehouse/sql-dialect.js';
import type { BoundSql, WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';
import { conformanceWarehouses, seedUsers } from './warehouses.js';

setLogger(createLogger({ level: 'silent' }));

const config = (fields: string, match = 'user_id', extra = '') => `
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: ${match} }
    fields:
${fields}
${extra}`;

describe.each(conformanceWarehouses())('engine semantics: $name', (w) => {
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
    wh = await w.open();
    d = sqlDialect(wh.dialect);
    await seedUsers(
      wh,
      Array.from({ length: 20 }, (_, i) => [i + 1, `u${i + 1}@example.com`, ((i + 1) * 7) % 100]),
    );
    dest = new MemoryDestination();
  });
  afterEach(async () => {
    await wh.close();
    p.cleanup();
  });

  const run = async (dryRun = false) => {
    const [s] = await runSyncs({
      loaded: loadConfig(p.configPath),
      syncs: ['users'],
      warehouse: wh,
      destination: async () => dest,
      dryRun,
    });
    return s!;
  };

  it('reads mapped and match columns whatever case the engine gives them: values, never null', async () => {
    // Unquoted aliases: DuckDB and BigQuery keep `leadScore`, Postgres and Redshift fold it to `leadscore`,
    // Snowflake upper-cases it. The config spells every column in yet another case.
    p.writeModel(
      'scores',
      `/*---\nname: scores\nkey: userid\n---*/\nselect user_id as userId, email as eMail, score as leadScore from src.users\n`,
    );
    p.writeConfig(config('      Email: EMAIL\n      Score__c: LeadScore', 'UserID'));
    const first = await run();
    expect(first.status).toBe('success');
    expect(first.counts).toMatchObject({ added: 20, applied: 20 });
    expect(dest.records.get('Lead')?.get('7')).toEqual({ Email: 'u7@example.com', Score__c: 49 });
    expect(await run()).toMatchObject({ counts: { added: 0, changed: 0, applied: 0 } });
  });

  it('refuses a mapped column the model does not return (exit 2), naming the columns and the nearest', async () => {
    p.writeModel(
      'scores',
      `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, email, score from src.users\n`,
    );
    p.writeConfig(config('      Email: email\n      Score__c: scroe'));
    const s = await run();
    expect(exitCodeFor([s])).toBe(2);
    expect(s.error?.message).toBe(
      `${p.configPath} (sync users, syncs.users.fields): the sync maps column 'scroe', which ${p.dir}/models/scores.sql does not return (it returns: user_id, email, score); did you mean 'score'?\n  hint: fix \`fields\` in the sync config, or return the column from the model`,
    );
    expect(dest.calls).toBe(0);
  });

  it('plans a sync that never ran (the empty snapshot) without writing anything', async () => {
    p.writeModel(
      'scores',
      `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, email, score from src.users\n`,
    );
    p.writeConfig(config('      Email: email\n      Score__c: score'));
    const plan = await run(true);
    expect(plan.error).toBeUndefined();
    expect(plan).toMatchObject({ status: 'planned', counts: { added: 20 } });
    expect(await wh.tableExists('pqlsync_state', 'runs')).toBe(false);
    expect(d.name).toBe(wh.dialect);
  });

  /** `src.pairs`: text pairs, a boolean, a date and a timestamp, mapped one field each. */
  const seedPairs = async (rows: unknown[][]) => {
    const t = d.types;
    await wh.query(
      `create table ${d.table('src', 'pairs')} (id ${t.bigint}, a ${t.text}, b ${t.text}, flag ${t.boolean}, day ${w.sqlTypes.date}, seen_at ${t.timestamp})`,
    );
    await wh.insertRows('src.pairs', ['id', 'a', 'b', 'flag', 'day', 'seen_at'], rows);
    p.writeModel(
      'scores',
      `/*---\nname: scores\nkey: id\n---*/\nselect id, a, b, flag, day, seen_at from src.pairs\n`,
    );
    p.writeConfig(
      config(
        '      A__c: a\n      B__c: b\n      Flag__c: flag\n      Day__c: day\n      Seen__c: seen_at',
        'id',
      ),
    );
  };
  const setPair = async (id: number, a: string | null, b: string | null) => {
    const q = new SqlBuilder(d);
    await wh.query(
      q.build(
        `update ${d.table('src', 'pairs')} set a = ${q.param(a, 'string')}, b = ${q.param(b, 'string')} where id = ${q.param(id, 'integer')}`,
      ),
    );
  };
  const seenAt = new Date('2026-03-29T01:30:00.123Z');

  it('sees a change between values that joined texts would confuse (a|b + c vs a + b|c; text \\N vs NULL)', async () => {
    await seedPairs([
      [1, 'a|b', 'c', true, '2026-03-29', seenAt],
      [2, '\\N', 'x', false, '2026-03-29', seenAt],
      [3, 'same', 'same', null, null, null],
    ]);
    expect((await run()).counts).toMatchObject({ added: 3, applied: 3 });
    expect(dest.records.get('Lead')?.get('1')).toMatchObject({ A__c: 'a|b', B__c: 'c', Flag__c: true });
    await setPair(1, 'a', 'b|c');
    await setPair(2, null, 'x');
    const s = await run();
    expect(s.counts).toMatchObject({ changed: 2, applied: 2 });
    expect(dest.records.get('Lead')?.get('1')).toMatchObject({ A__c: 'a', B__c: 'b|c' });
    expect(dest.records.get('Lead')?.get('2')).toMatchObject({ A__c: null, B__c: 'x' });
    expect((await run()).counts).toMatchObject({ changed: 0, applied: 0 });
  });

  it('carries a snapshot hashed by recipe 1 over to the current recipe: nothing resent, real changes sent', async () => {
    await seedPairs([
      [1, 'a', 'b', true, '2026-03-29', seenAt],
      [2, 'c', 'd', false, '2026-03-30', seenAt],
      [3, 'e', 'f', null, null, null],
    ]);
    await run();
    const snapshot = d.table('pqlsync_state', 'users__snapshot');
    const hashes = async () =>
      (await wh.query(`select key, row_hash from ${snapshot} order by key`)).rows.map((r) => [
        r.key,
        r.row_hash,
      ]);
    const current = await hashes();
    // The snapshot as a version before recipe 2 left it: recipe-1 hashes, no recipe recorded.
    const { legacySignature } = hashColumns(
      syncTarget('users', loadConfig(p.configPath).config.syncs.users!, 'id'),
    );
    const cols = ['a', 'b', 'day', 'flag', 'id', 'seen_at'].map((c) => `m.${d.quote(c)}`); // by field: A, B, Day, Flag, match, Seen
    const legacy = d.legacyRowHash([
      `'${legacySignature}'`,
      cols[0]!,
      cols[1]!,
      cols[2]!,
      cols[3]!,
      cols[5]!,
      cols[4]!,
    ]);
    await wh.query(
      `update ${snapshot} set row_hash = (select ${legacy} from ${d.table('src', 'pairs')} m where ${d.castText('m.id')} = ${snapshot}.key)`,
    );
    await wh.query(`delete from ${d.table('pqlsync_state', 'meta')} where name = 'row_hash_recipe:users'`);
    expect(await hashes()).not.toEqual(current);
    const calls = dest.calls;
    expect((await run(true)).counts).toMatchObject({ added: 0, changed: 0 });
    await setPair(3, 'e2', 'f');
    const upgraded = await run();
    expect(upgraded.counts).toMatchObject({ added: 0, changed: 1, applied: 1 });
    expect(dest.calls).toBe(calls + 1);
    expect((await run()).counts).toMatchObject({ changed: 0, applied: 0 });
    expect((await hashes()).slice(0, 2)).toEqual(current.slice(0, 2));
  });

  it('commits 2,500 keys in one batch: more rows than one streamed chunk or one insert statement holds', async () => {
    // Past the 2,048 rows a stream yields per chunk and the rows one insert statement carries where an adapter
    // slices its inserts (Snowflake and BigQuery 4,000 binds, Redshift 2,000: a 13-column journal row takes 13).
    const N = 2_500;
    await wh.query(`delete from ${d.table('src', 'users')}`);
    await wh.insertRows(
      'src.users',
      ['user_id', 'email', 'score'],
      Array.from({ length: N }, (_, i) => [i + 1, `u${i + 1}@example.com`, i % 100]),
    );
    p.writeModel(
      'scores',
      `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, email, score from src.users\n`,
    );
    p.writeConfig(config('      Email: email\n      Score__c: score'));
    dest.batchSize = N;
    expect((await run()).counts).toMatchObject({ added: N, applied: N });
    // Every row changes: all the keys leave the snapshot and come back in one batch's commit.
    await wh.query(`update ${d.table('src', 'users')} set score = score + 1`);
    const s = await run();
    expect(s.status).toBe('success');
    expect(s.counts).toMatchObject({ changed: N, applied: N });
    expect((await run()).counts).toMatchObject({ changed: 0, applied: 0 });
    expect(dest.records.get('Lead')?.get(String(N))).toEqual({ Email: `u${N}@example.com`, Score__c: 100 });
  }, 600_000);

  it('looks up more keys than one IN list takes: split where the engine limits them (Snowflake 16,384 items, Redshift 32,000 binds)', async () => {
    // The state's key lookups (tiers entered, routing, skipped outcomes' record ids) go through queryByList. One
    // key past the engine's limit (the Snowflake sandbox refuses a longer list, as Snowflake does); engines with
    // array binds take any number in one statement.
    const limit = d.maxListItems;
    const n = (limit ?? 20_000) + 1;
    // The 20 users' keys at both ends, so each of the two lists finds some of them.
    const keys = [
      ...Array.from({ length: 10 }, (_, i) => String(i + 1)),
      ...Array.from({ length: n - 20 }, (_, i) => `none-${i}`),
      ...Array.from({ length: 10 }, (_, i) => String(i + 11)),
    ];
    const binds: number[] = [];
    const counting: WarehouseAdapter = Object.create(wh, {
      query: {
        value: (sql: BoundSql | string) => {
          binds.push(typeof sql === 'string' ? 0 : sql.params.length);
          return wh.query(sql);
        },
      },
    });
    const rows = await queryByList(
      counting,
      d,
      keys,
      (b, list) =>
        `select user_id from ${d.table('src', 'users')} where ${d.inList(d.castText('user_id'), b, list)}`,
    );
    expect(rows.map((r) => Number(r.user_id)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    // One bind per key where lists are expanded, else one array bind per statement.
    expect(binds).toEqual(limit ? [limit, 1] : [1]);
  }, 600_000);
});
