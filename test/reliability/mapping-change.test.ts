/**
 * A changed match column, match field, object or destination (issue 23, item 9) is refused against the mapping
 * signature stored with the sync's state, because the snapshot's records were matched by the old mapping and the
 * CRM would get a second record for each; `--rematch` starts the sync afresh under the new mapping. A state
 * written before signatures existed, or a signature without a part added later, is adopted without a refusal.
 * On DuckDB and on a real Postgres.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { exitCodeFor, type RunSummary } from '../../src/runner/run-sync.js';
import { runSyncs } from '../../src/runner/run-syncs.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/warehouse/postgres/postgres-adapter.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';
import { displayPath } from '../../src/model/model-file.js';

setLogger(createLogger({ level: 'silent' }));

const MODEL = `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, email, score from src.users\n`;
const config = (match: string, object = 'Lead') => `
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: ${object}
    match: ${match}
    mode: upsert
    fields: { Email: email, Score__c: score }
`;
const BY_USER_ID = '{ field: Ext__c, column: user_id }';
const BY_EMAIL = '{ field: Ext__c, column: email }';
const ROWS = 20;

let server: TestPostgres | undefined;
let databases = 0;
afterAll(async () => {
  await server?.stop();
});

describe.each(['duckdb', 'postgres'] as const)('a changed mapping on %s', (engine) => {
  let p: TempProject;
  let wh: WarehouseAdapter;
  let crm: MemoryDestination;

  beforeAll(async () => {
    if (engine === 'postgres') server ??= await startTestPostgres();
  }, 120_000);

  beforeEach(async () => {
    p = tempProject();
    p.writeModel('scores', MODEL);
    p.writeConfig(config(BY_USER_ID));
    wh =
      engine === 'postgres'
        ? new PostgresAdapter({ url: await server!.createDatabase(`mapping_change_${++databases}`) })
        : new DuckdbAdapter({ path: `${p.dir}/wh.duckdb` });
    await wh.connect();
    await wh.query('create schema src');
    await wh.query('create table src.users (user_id varchar, email varchar, score integer)');
    const values = Array.from({ length: ROWS }, (_, i) => `('u${i + 1}', 'user${i + 1}@example.com', ${i})`);
    await wh.query(`insert into src.users values ${values.join(', ')}`);
    crm = new MemoryDestination();
  });

  afterEach(async () => {
    await wh.close();
    p.cleanup();
  });

  const run = async (options: { rematch?: boolean; dryRun?: boolean } = {}): Promise<RunSummary> => {
    const [summary] = await runSyncs({
      loaded: loadConfig(p.configPath),
      syncs: ['users'],
      warehouse: wh,
      destination: () => Promise.resolve(crm),
      ...options,
    });
    return summary!;
  };
  const leads = () => crm.records.get('Lead')?.size ?? 0;
  const stored = async () =>
    (await wh.query(`select sync, signature from pqlsync_state.mappings order by sync`)).rows.map((r) => ({
      sync: r.sync,
      signature: JSON.parse(String(r.signature)) as unknown,
    }));
  const refusal = (changes: string, path: string, synced = ROWS) =>
    `${displayPath(p.configPath)} (sync users, syncs.users.${path}): the sync's mapping changed since its last run (${changes}); its ${synced} synced records were written under the old mapping, and sending them under the new one would make the CRM create a second record for each; refusing\n` +
    "  hint: undo the change, or run with --rematch to forget the sync's snapshot and failures and send every row in full under the new mapping (records written under the old mapping stay in the CRM as they are)";

  it('refuses a changed match column (exit 2, nothing sent) and --rematch starts afresh', async () => {
    expect((await run()).status).toBe('success');
    expect(leads()).toBe(ROWS);
    expect(await stored()).toEqual([
      {
        sync: 'users',
        signature: {
          destination: 'crm',
          destination_type: 'file',
          object: 'Lead',
          'match.field': 'Ext__c',
          'match.column': 'user_id',
        },
      },
    ]);

    p.writeConfig(config(BY_EMAIL));
    const refused = await run();
    expect(refused.status).toBe('failed');
    expect(refused.error).toEqual({
      code: 'MAPPING_CHANGED',
      kind: 'config',
      message: refusal("match.column was 'user_id', now 'email'", 'match.column'),
      location: { file: displayPath(p.configPath), sync: 'users', path: 'syncs.users.match.column' },
      hint: "undo the change, or run with --rematch to forget the sync's snapshot and failures and send every row in full under the new mapping (records written under the old mapping stay in the CRM as they are)",
    });
    expect(exitCodeFor([refused])).toBe(2);
    expect(crm.calls).toBe(1);
    expect(leads()).toBe(ROWS);
    const runsRow = await wh.query(
      `select status, error from pqlsync_state.runs where run_id = '${refused.runId}'`,
    );
    expect(runsRow.rows).toEqual([{ status: 'failed', error: refused.error?.message }]);
    // The plan says the same, and writes nothing.
    const planned = await run({ dryRun: true });
    expect(planned.error?.message).toBe(refused.error?.message);
    expect(exitCodeFor([planned])).toBe(2);

    // plan --rematch: every row would be sent in full as new; nothing is forgotten yet.
    const preview = await run({ dryRun: true, rematch: true });
    expect([preview.status, preview.counts.added, preview.counts.changed]).toEqual(['planned', ROWS, 0]);
    expect(
      Number((await wh.query('select count(*) as n from pqlsync_state.users__snapshot')).rows[0]?.n),
    ).toBe(ROWS);

    // run --rematch: the snapshot is forgotten and every row sent, matched by its email (a new record each).
    const rematched = await run({ rematch: true });
    expect([rematched.status, rematched.counts.added, rematched.counts.applied]).toEqual([
      'success',
      ROWS,
      ROWS,
    ]);
    expect(leads()).toBe(2 * ROWS);
    expect(crm.records.get('Lead')?.get('user7@example.com')).toEqual({
      Email: 'user7@example.com',
      Score__c: 6,
    });
    expect((await stored())[0]?.signature).toMatchObject({ 'match.column': 'email' });
    const again = await run();
    expect([again.status, again.counts.added, again.counts.changed, crm.calls]).toEqual(['success', 0, 0, 2]);
  });

  it('refuses a changed object or destination, naming each change', async () => {
    await run();
    p.writeConfig(
      config(BY_USER_ID, 'Contact')
        .replace('crm: { type: file', 'other: { type: file')
        .replace('destination: crm', 'destination: other'),
    );
    const refused = await run();
    expect(refused.error?.message).toBe(
      refusal("destination was 'crm', now 'other'; object was 'Lead', now 'Contact'", 'destination'),
    );
    expect(crm.calls).toBe(1);
  });

  it('refuses the first run of a sync whose state sits under a name no longer in the config', async () => {
    await run();
    p.writeConfig(config(BY_USER_ID).replace('\n  users:\n', '\n  leads:\n'));
    const [refused] = await runSyncs({
      loaded: loadConfig(p.configPath),
      syncs: ['leads'],
      warehouse: wh,
      destination: () => Promise.resolve(crm),
    });
    expect(refused?.error).toMatchObject({
      code: 'MAPPING_CHANGED',
      message:
        `${displayPath(p.configPath)} (sync leads): sync leads has no state yet, but sync users, which is no longer in the config, has ${ROWS} synced records with the same destination, object and match; if leads is users renamed, its first run would send them all again; refusing\n` +
        '  hint: if it was renamed, run `pqlsync rename-sync users leads` first; to start leads afresh anyway, run with --rematch',
    });
    expect(crm.calls).toBe(1);
  });

  it('adopts a state written before signatures, and a signature missing a later part', async () => {
    await run();
    // An older pqlsync: no mappings table at all.
    await wh.query('drop table pqlsync_state.mappings');
    const adopted = await run();
    expect([adopted.status, adopted.counts.added, adopted.counts.changed]).toEqual(['success', 0, 0]);
    expect(await stored()).toHaveLength(1);
    // A signature written before a part existed, with a part this version does not know: both kept.
    await wh.query(
      `update pqlsync_state.mappings set signature = '{"destination":"crm","object":"Lead","match.field":"Ext__c","match.column":"user_id","later_part":"x"}'`,
    );
    const merged = await run();
    expect(merged.status).toBe('success');
    expect((await stored())[0]?.signature).toEqual({
      destination: 'crm',
      destination_type: 'file',
      object: 'Lead',
      'match.field': 'Ext__c',
      'match.column': 'user_id',
      later_part: 'x',
    });
    // And a change after adoption is refused.
    p.writeConfig(config(BY_EMAIL));
    expect((await run()).error?.code).toBe('MAPPING_CHANGED');
    expect(leads()).toBe(ROWS);
  });
});
