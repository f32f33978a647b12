/**
 * The BigQuery sandbox's dry run (jobs.insert with `dryRun: true`, through the real client): `totalBytesProcessed`
 * by BigQuery's data sizes per type over the tables a statement names, an UPDATE/DELETE/MERGE target counted whole,
 * an INSERT's target not at all (https://cloud.google.com/bigquery/pricing#dml).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigqueryAdapter } from '../../../src/warehouse/bigquery/bigquery-adapter.js';
import { BigquerySandbox } from '../../../src/warehouse/bigquery/sandbox/bigquery-sandbox.js';

describe('BigQuery sandbox: dry-run bytes', () => {
  const sandbox = new BigquerySandbox({ token: 'dry-run-token' });
  let wh: BigqueryAdapter;
  beforeAll(async () => {
    const url = await sandbox.start();
    wh = new BigqueryAdapter({ projectId: 'dry', apiEndpoint: url, accessToken: 'dry-run-token' });
    await wh.connect();
    await wh.ensureSchema('ds');
    await wh.query('create table `ds`.`t` (a STRING, n INT64)');
    await wh.query(`insert into \`ds\`.\`t\` (a, n) values ('ab', 1), ('cde', null)`);
    await wh.query('create table `ds`.`u` (a STRING)');
    await wh.query(`insert into \`ds\`.\`u\` (a) values ('x')`);
  }, 60_000);
  afterAll(async () => {
    await wh.close();
    await sandbox.stop();
  });

  const bytes = (sql: string) => wh.estimateBytes({ dialect: 'bigquery', sql, params: [] });
  // t: STRING 'ab' (2 + 2) and 'cde' (2 + 3), INT64 1 (8) and NULL (0): 17 bytes; u: 'x' (2 + 1): 3 bytes.
  it('counts the tables a statement scans, a DML target whole and an INSERT target not at all', async () => {
    expect(await bytes('select a from `ds`.`t`')).toBe(17);
    expect(await bytes(`insert into \`ds\`.\`t\` (a, n) values ('z', 2)`)).toBe(0);
    expect(await bytes('insert into `ds`.`u` (a) select a from `ds`.`t`')).toBe(17);
    expect(await bytes(`delete from \`ds\`.\`t\` where a = 'ab'`)).toBe(17);
    expect(
      await bytes(
        'merge into `ds`.`t` s using `ds`.`u` j on s.a = j.a when matched then delete when not matched then insert (a, n) values (j.a, 0)',
      ),
    ).toBe(20);
    // A dry run runs nothing.
    const { rows } = await wh.query('select count(*) as n from `ds`.`t`');
    expect(Number(rows[0]?.n)).toBe(2);
  });
});
