/**
 * What a run asks DuckDB (issue 22, start-up): a no-op run's statements, as the DuckDB client receives them (every
 * call of the client's connection is recorded; DuckDB runs them as usual). `tableExists` binds the table instead of
 * querying `information_schema.tables` (2-6 ms each, four times a run), and answers as the information schema did,
 * except where DuckDB itself resolves a name differently.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as DuckdbApi from '@duckdb/node-api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { runSync } from '../../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

const { DuckDBConnection } = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckdbApi;
type Recorded = 'extractStatements' | 'prepare' | 'run' | 'runAndReadAll' | 'stream';
const RECORDED: Recorded[] = ['extractStatements', 'prepare', 'run', 'runAndReadAll', 'stream'];

/** The SQL text of every statement the DuckDB client is given while `fn` runs, one entry per call. */
async function statementsOf(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const proto = DuckDBConnection.prototype as unknown as Record<
    Recorded,
    (sql: string, ...rest: unknown[]) => unknown
  >;
  const originals = RECORDED.map((m) => [m, proto[m]] as const);
  for (const [m, original] of originals) {
    proto[m] = function (this: unknown, sql: string, ...rest: unknown[]) {
      seen.push(sql.replace(/\s+/g, ' ').trim());
      return original.call(this, sql, ...rest);
    };
  }
  try {
    await fn();
  } finally {
    for (const [m, original] of originals) proto[m] = original;
  }
  return seen;
}

describe('a no-op run on DuckDB', () => {
  let p: TempProject;
  let wh: DuckdbAdapter;

  beforeEach(async () => {
    p = tempProject('pqlsync-duckdb-statements-');
    p.writeModel(
      'scores',
      `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, 'u' || user_id || '@example.com' as email from range(1, 11) t(user_id)\n`,
    );
    p.writeConfig(
      [
        'warehouse: { type: duckdb, path: wh.duckdb }',
        'destinations: { crm: { type: file, path: out } }',
        'syncs:',
        '  users: { model: scores, destination: crm, object: Lead, match: { field: Ext__c }, fields: { Email: email } }',
      ].join('\n'),
    );
    wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
    await wh.connect();
  });
  afterEach(async () => {
    await wh.close();
    p.cleanup();
  });

  it('looks tables up by binding them, never through information_schema', async () => {
    const dest = new MemoryDestination();
    const run = () =>
      runSync({
        loaded: loadConfig(p.configPath),
        warehouse: wh,
        syncName: 'users',
        destination: async () => dest,
      });
    expect((await run()).counts.applied).toBe(10);

    const statements = await statementsOf(async () => {
      const s = await run();
      expect(s.status).toBe('success');
      expect(s.counts).toMatchObject({ added: 0, changed: 0, removed: 0, applied: 0 });
    });
    expect(statements.filter((s) => /information_schema/i.test(s))).toEqual([]);
    // The tables a run checks for: meta (the state version), mappings (the mapping check), and the sync's snapshot
    // and failures (the plan).
    const bound = statements.flatMap(
      (s) => /^select \* from "wh"\."pqlsync_state"\."([^"]+)"$/.exec(s)?.[1] ?? [],
    );
    expect(bound).toEqual(['meta', 'mappings', 'users__snapshot', 'users__failures']);
    // 34 statements on DuckDB 1.5 (each lookup above took 2-6 ms as an information_schema query); the plan's share:
    // the explain that finds the model a table read, its diff, one stats query, the plan with previous values, the
    // diff's drop.
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(34);
  });
});

describe('DuckDB tableExists', () => {
  let p: TempProject;
  let wh: DuckdbAdapter;

  beforeAll(async () => {
    p = tempProject('pqlsync-duckdb-table-exists-');
    wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
    await wh.connect();
    await wh.query('create schema s');
    await wh.query('create table s.t (a integer)');
    await wh.query('create table s."odd ""name""" (a integer)');
    await wh.query('create view s.v as select * from s.t');
    await wh.query('create table s.gone (a integer)');
    await wh.query('create view s.broken as select * from s.gone');
    await wh.query('drop table s.gone');
    await wh.query('create table pqlsync_scratch.main.only_in_scratch (a integer)');
  });
  afterAll(async () => {
    await wh.close();
    p.cleanup();
  });

  it('finds tables and views of the file, and not what is missing', async () => {
    const statements = await statementsOf(async () => {
      expect(await wh.tableExists('s', 't')).toBe(true);
      expect(await wh.tableExists('s', 'odd "name"')).toBe(true);
      expect(await wh.tableExists('s', 'v')).toBe(true);
      expect(await wh.tableExists('s', 'nope')).toBe(false);
      expect(await wh.tableExists('nope', 't')).toBe(false);
    });
    expect(statements).toEqual([
      'select * from "wh"."s"."t"',
      'select * from "wh"."s"."odd ""name"""',
      'select * from "wh"."s"."v"',
      'select * from "wh"."s"."nope"',
      'select * from "wh"."nope"."t"',
    ]);
  });

  it('asks the information schema when DuckDB refuses to bind for another reason (a view over a dropped table)', async () => {
    const statements = await statementsOf(async () => {
      expect(await wh.tableExists('s', 'broken')).toBe(true);
    });
    expect(statements).toHaveLength(2);
    expect(statements[1]).toMatch(/information_schema\.tables/);
  });

  it("does not take a table of the in-memory scratch database for the file's", async () => {
    // information_schema.tables lists every attached database: it answered true here.
    expect(await wh.tableExists('main', 'only_in_scratch')).toBe(false);
  });

  it('sees a table created inside the open transaction', async () => {
    await wh.transaction(async (tx) => {
      await tx.query('create table s.in_tx (a integer)');
      expect(await tx.tableExists('s', 'in_tx')).toBe(true);
    });
    expect(await wh.tableExists('s', 'in_tx')).toBe(true);
  });
});
