/**
 * Golden SQL per dialect: the statements one fixed scenario sends (plan, first run with a rejection, a second run
 * with changes and removals in mirror mode), recorded on each real engine or sandbox, so they are known to run.
 * A change to our SQL shows up as a diff in `test/conformance/golden/<dialect>.sql`; run with `UPDATE_GOLDEN=1`
 * to rewrite it (the test then fails once), review the diff and rerun without the variable. Two servers of one dialect
 * (Postgres 18 and 15) must send the same text.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { runSyncs } from '../../src/runner/run-syncs.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { sqlDialect } from '../../src/warehouse/sql-dialect.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { expectGolden } from '../helpers/golden.js';
import { tempProject } from '../helpers/temp-project.js';
import { RecordingWarehouse } from './recording-warehouse.js';
import { conformanceWarehouses, seedUsers } from './warehouses.js';

setLogger(createLogger({ level: 'silent' }));

const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');

const MODEL = `/*---
name: scores
key: user_id
params:
  min_score: { type: integer, default: 0 }
  tiers: { type: 'string[]', default: [hot, pql, nurture] }
---*/
select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :min_score
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end {{ in_list(tiers) }}
`;

const CONFIG = `
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: user_id }
    mode: mirror
    max_removed_pct: 100
    fields:
      Email: email
      Score__c: score
      Tier__c: tier
`;

describe.each(conformanceWarehouses())('golden SQL: $name', (w) => {
  beforeAll(async () => {
    await w.start();
  });
  afterAll(async () => {
    await w.stop();
  });

  it('sends the recorded statements, in order', async () => {
    const p = tempProject();
    const inner = await w.open();
    try {
      p.writeModel('scores', MODEL);
      p.writeConfig(CONFIG);
      const d = sqlDialect(inner.dialect);
      await seedUsers(
        inner,
        [1, 2, 3, 4].map((i) => [i, `u${i}@example.com`, i * 20]),
      );
      const wh = new RecordingWarehouse(inner);
      const dest = new MemoryDestination();
      dest.rejectKeys.set('2', 'INVALID_EMAIL_ADDRESS');
      const loaded = loadConfig(p.configPath);
      const run = async (dryRun: boolean) => {
        wh.log.push(`-- ======== ${dryRun ? 'plan' : 'run'} ========`);
        const [s] = await runSyncs({
          loaded,
          syncs: ['users'],
          warehouse: wh,
          destination: async () => dest,
          dryRun,
        });
        return s!;
      };
      expect((await run(true)).counts).toMatchObject({ added: 4 });
      expect((await run(false)).counts).toMatchObject({ added: 4, applied: 3, rejected: 1 });
      await inner.query(`update ${d.table('src', 'users')} set score = 99 where user_id = 1`);
      await inner.query(`delete from ${d.table('src', 'users')} where user_id = 4`);
      dest.rejectKeys.clear();
      expect((await run(false)).counts).toMatchObject({
        changed: 1,
        removed: 1,
        added: 1,
        retried: 1,
        applied: 3,
      });

      const text = `-- ${w.dialect}: statements of golden-sql.test.ts (params as position:name:type)\n\n${wh.log.join(';\n\n')};\n`;
      expectGolden(path.join(GOLDEN_DIR, `${w.dialect}.sql`), text);
    } finally {
      await inner.close();
      p.cleanup();
    }
  });
});
