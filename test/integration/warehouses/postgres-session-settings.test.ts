/**
 * The row hash never goes through the session's settings: a sync whose model returns a timestamptz, a date and a
 * boolean sees no change when the database's TimeZone and DateStyle change between runs (a new connection picks
 * them up), where `cast(x as text)` would have turned every row into a change.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { runSyncs } from '../../../src/runner/run-syncs.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { PostgresAdapter } from '../../../src/warehouse/postgres/postgres-adapter.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { tempProject } from '../../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

let server: TestPostgres;
beforeAll(async () => {
  server = await startTestPostgres();
}, 120_000);
afterAll(async () => {
  await server.stop();
});

it('a change of the session TimeZone or DateStyle changes no row hash', async () => {
  const db = `session_settings_${process.pid}`;
  const url = await server.createDatabase(db);
  const p = tempProject();
  const dest = new MemoryDestination();
  p.writeModel(
    'scores',
    `/*---\nname: scores\nkey: id\n---*/\nselect id, seen_at, day, id > 1 as flag from src.events\n`,
  );
  p.writeConfig(`
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: id }
    fields: { Seen__c: seen_at, Day__c: day, Flag__c: flag }
`);
  const run = async () => {
    const wh = new PostgresAdapter({ url });
    await wh.connect();
    try {
      const [s] = await runSyncs({
        loaded: loadConfig(p.configPath),
        syncs: ['users'],
        warehouse: wh,
        destination: async () => dest,
      });
      return s!;
    } finally {
      await wh.close();
    }
  };
  const setup = new PostgresAdapter({ url });
  await setup.connect();
  await setup.query('create schema src');
  await setup.query('create table src.events (id bigint, seen_at timestamptz, day date)');
  await setup.query(
    `insert into src.events values (1, '2026-03-29 01:30:00.123+00', '2026-03-29'), (2, '2026-10-25 00:59:59+00', '2026-10-25')`,
  );
  try {
    expect((await run()).counts).toMatchObject({ added: 2, applied: 2 });
    await setup.query(`alter database "${db}" set TimeZone = 'Asia/Kathmandu'`);
    await setup.query(`alter database "${db}" set DateStyle = 'German, DMY'`);
    const again = await run();
    expect(again.counts).toMatchObject({ added: 0, changed: 0, applied: 0 });
  } finally {
    await setup.close();
    p.cleanup();
  }
});
