/**
 * Conformance cases for each engine's own semantics (issue 18): column names in the engine's own case, the
 * first plan of a sync that never ran, booleans and dates in the row hash, an unambiguous hash encoding, and
 * commits of more keys than an engine takes in one IN list.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { exitCodeFor } from '../../src/runner/run-sync.js';
import { runSyncs } from '../../src/runner/run-syncs.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { sqlDialect, type SqlDialect } from '../../src/warehouse/sql-dialect.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
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
});
