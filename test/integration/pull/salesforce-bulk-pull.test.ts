/**
 * `pqlsync pull` from the Salesforce sandbox through Bulk API 2.0 query: an object with more changed records than
 * `pull_bulk_threshold` is read with one query job whose results come in several result sets, and the read-back
 * tables come out row for row the same as a SOQL + queryMore pull of the same records (Bulk's CSV gives nulls as
 * empty fields and checkboxes as text); a rerun with nothing changed reads 0 records and creates no job; a job
 * that ends Failed fails the pull without moving the watermark; a pull killed between a result set's rows and
 * its watermark is followed by one that converges to the same tables.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../../../src/config/load-config.js';
import { salesforceDestinationSchema } from '../../../src/config/config-schema.js';
import type { CrmReader } from '../../../src/pull/crm-reader.js';
import { pullCrm } from '../../../src/pull/pull-crm.js';
import type { RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { FaultyWarehouse } from '../../helpers/faulty-warehouse.js';
import type { TempProject } from '../../helpers/temp-project.js';
import { admin, start, userIds } from '../sandbox/salesforce-helpers.js';
import { lastSeq, pullOnce, pullProject, readCounts, requestsSince, TestClock } from './pull-harness.js';

setLogger(createLogger({ level: 'silent' }));
// Imported after salesforce-helpers removed the proxy variables (jsforce reads them at load).
const { SalesforceReader } = await import('../../../src/destination/salesforce/salesforce-reader.js');
type SalesforceConfig = ConstructorParameters<typeof SalesforceReader>[0]['config'];

const PEOPLE = 2_600;
const THRESHOLD = 2_000;
const SET = 1_000;
const TABLES = ['crm_tasks', 'crm_people', 'crm_opportunities', 'crm_watermarks'] as const;
const ORDER: Record<(typeof TABLES)[number], string> = {
  crm_tasks: 'task_id',
  crm_people: 'record_id',
  crm_opportunities: 'opportunity_id',
  crm_watermarks: 'object',
};

describe('pull from Salesforce through Bulk API 2.0 query', () => {
  const clock = new TestClock(Date.parse('2026-03-02T09:00:00Z'));
  let sandbox: RunningSandbox;
  let project: TempProject;
  let loaded: LoadedConfig;
  const warehouses: DuckdbAdapter[] = [];
  /** The same records pulled through SOQL + queryMore only: what every Bulk pull must come to. */
  let viaRest: DuckdbAdapter;
  let restResult: Awaited<ReturnType<typeof pull>>;

  /** A reader of the project's destination with this threshold; Bulk status checks do not wait. */
  const readerWith =
    (threshold: number) =>
    (destination: string, l: LoadedConfig): Promise<CrmReader> =>
      Promise.resolve(
        new SalesforceReader({
          name: destination,
          config: {
            ...(l.config.destinations[destination] as SalesforceConfig),
            pull_bulk_threshold: threshold,
          },
          projectDir: l.projectDir,
          sleep: () => Promise.resolve(),
          bulkPageSize: SET,
        }),
      );
  const bulk = readerWith(THRESHOLD);
  const rest = readerWith(1_000_000);

  async function warehouse(name: string): Promise<DuckdbAdapter> {
    const wh = new DuckdbAdapter({ path: path.join(project.dir, `${name}.duckdb`) });
    await wh.connect();
    warehouses.push(wh);
    return wh;
  }

  async function pull(wh: DuckdbAdapter | FaultyWarehouse, reader: typeof bulk) {
    const [result] = await pullCrm({ loaded, warehouse: wh, now: clock.now, reader });
    if (!result) throw new Error('pull returned no result');
    return result;
  }

  async function tables(wh: DuckdbAdapter): Promise<Record<string, unknown[]>> {
    const out: Record<string, unknown[]> = {};
    for (const table of TABLES) {
      const cols = table === 'crm_watermarks' ? 'destination, object, watermark, records' : '*';
      out[table] = (
        await wh.query(`select ${cols} from pqlsync_state.${table} order by ${ORDER[table]}`)
      ).rows;
    }
    return out;
  }

  beforeAll(async () => {
    sandbox = await start({ now: clock.now });
    ({ project, loaded } = pullProject(
      'salesforce',
      sandbox,
      'warehouse: { type: duckdb, path: wh.duckdb }',
    ));
    const owners = await userIds(sandbox);
    const leads = (
      (
        await admin(sandbox, 'POST', '/_sandbox/salesforce/Lead', {
          records: Array.from({ length: PEOPLE }, (_, i) => ({
            LastName: `Lead ${i}`,
            Company: `Co ${i}`,
            Product_User_Id__c: `u${i}`,
            OwnerId: owners['ava.patel@example.com'],
          })),
        })
      ).body as { records: Array<{ Id: string }> }
    ).records;
    const tasks = (
      (
        await admin(sandbox, 'POST', '/_sandbox/salesforce/Task', {
          records: leads.map((l, i) => ({
            WhoId: l.Id,
            Subject: `task ${i}`,
            PQLSync_Key__c: `pqlsync:Lead:u${i}:hot:2026-03-02`,
            // Every third task has no due date: a null in both paths.
            ...(i % 3 === 0 ? {} : { ActivityDate: '2026-03-04' }),
          })),
        })
      ).body as { records: Array<{ Id: string }> }
    ).records;
    clock.tick();
    // Some tasks done (an outcome with a comma and quotes), some leads converted into opportunities, one
    // opportunity without an amount: checkboxes, dates and nulls of every kind.
    for (const t of tasks.slice(0, 5))
      await admin(sandbox, 'POST', `/_sandbox/salesforce/Task/${t.Id}/complete`, {
        completedAt: '2026-03-02T09:30:00Z',
        outcome: 'Left voicemail, "call back"',
      });
    for (const l of leads.slice(0, 3))
      await admin(sandbox, 'POST', `/_sandbox/salesforce/Lead/${l.Id}/convert`, {
        convertedAt: '2026-03-02T10:00:00Z',
        opportunity: { Amount: 5000, StageName: 'Prospecting', CloseDate: '2026-04-01' },
      });
    await admin(sandbox, 'POST', '/_sandbox/salesforce/Opportunity', {
      records: [{ Name: 'No amount', StageName: 'Prospecting', CloseDate: '2026-04-02' }],
    });
    clock.tick();
    viaRest = await warehouse('rest');
    restResult = await pull(viaRest, rest);
  }, 120_000);

  afterAll(async () => {
    for (const wh of warehouses) await wh.close();
    await sandbox.close();
    project.cleanup();
  });

  it('defaults pull_bulk_threshold to 10,000', () => {
    const parsed = salesforceDestinationSchema.parse({
      type: 'salesforce',
      instance_url: 'https://example.my.salesforce.com',
      auth: { type: 'access_token', access_token: 't' },
    });
    expect(parsed.pull_bulk_threshold).toBe(10_000);
  });

  it('reads the large objects with one query job each and writes the rows the REST path writes', async () => {
    expect(restResult.status).toBe('success');
    expect(readCounts(restResult)).toEqual({ Task: PEOPLE, Lead: PEOPLE, Opportunity: 4 });

    const viaBulk = await warehouse('bulk');
    const mark = await lastSeq(sandbox);
    const bulkResult = await pull(viaBulk, bulk);
    expect(bulkResult.status).toBe('success');
    expect(readCounts(bulkResult)).toEqual({ Task: PEOPLE, Lead: PEOPLE, Opportunity: 4 });
    const calls = (await requestsSince(sandbox, mark))
      .filter((r) => !r.path.startsWith('/_sandbox'))
      .map(
        (r) =>
          `${r.method} ${r.path.replace(/750\w{15}/, '{job}')}${r.path.endsWith('/results') ? `?${r.query}` : ''}`,
      );
    const locator = (n: number) => Buffer.from(String(n)).toString('base64').replace(/=+$/, '');
    const job = [
      'POST /services/data/v62.0/jobs/query',
      'GET /services/data/v62.0/jobs/query/{job}',
      'GET /services/data/v62.0/jobs/query/{job}',
      `GET /services/data/v62.0/jobs/query/{job}/results?maxRecords=${SET}`,
      `GET /services/data/v62.0/jobs/query/{job}/results?maxRecords=${SET}&locator=${locator(SET)}`,
      `GET /services/data/v62.0/jobs/query/{job}/results?maxRecords=${SET}&locator=${locator(2 * SET)}`,
    ];
    // Per large object: the SOQL query whose first page counts the changes (totalSize), then one job read in
    // three result sets; the small object: SOQL only.
    expect(calls).toEqual([
      'GET /services/data/v62.0/query',
      ...job,
      'GET /services/data/v62.0/query',
      ...job,
      'GET /services/data/v62.0/query',
    ]);
    // Every request is counted, the Bulk ones too.
    expect(bulkResult.apiCalls).toBe(calls.length);

    // Row for row the same tables, nulls included.
    const [a, b] = [await tables(viaRest), await tables(viaBulk)];
    expect(b).toEqual(a);
    const tasks = a.crm_tasks as Array<Record<string, unknown>>;
    expect(tasks.filter((t) => t.due_date === null)).toHaveLength(Math.ceil(PEOPLE / 3));
    expect(
      tasks.filter((t) => t.outcome === 'Left voicemail, "call back"' && t.is_closed === true),
    ).toHaveLength(5);
    const people = a.crm_people as Array<Record<string, unknown>>;
    expect(people.filter((p) => p.is_converted === true && p.converted_opportunity_id !== null)).toHaveLength(
      3,
    );
    const opps = a.crm_opportunities as Array<Record<string, unknown>>;
    expect(opps.map((o) => o.amount).sort()).toEqual([5000, 5000, 5000, null]);

    // Nothing changed: 0 records, only the SystemModstamp queries, no job.
    clock.tick(60);
    const mark2 = await lastSeq(sandbox);
    const rerun = await pullOnce(loaded, viaBulk, clock);
    expect(readCounts(rerun)).toEqual({ Task: 0, Lead: 0, Opportunity: 0 });
    expect(
      (await requestsSince(sandbox, mark2)).filter((r) => !r.path.startsWith('/_sandbox')).map((r) => r.path),
    ).toEqual(['/services/data/v62.0/query', '/services/data/v62.0/query', '/services/data/v62.0/query']);
  });

  it('fails the pull on a job that ends Failed, without moving the watermark; the next pull reads them', async () => {
    const wh = await warehouse('failed');
    await admin(sandbox, 'POST', '/_sandbox/salesforce/bulk/query-failures', {
      count: 1,
      errorMessage: 'Failed to process query: QUERY_TIMEOUT',
    });
    const failed = await pull(wh, bulk);
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toMatch(
      /^Bulk API 2\.0 query job 750\w{15} \(Task\) ended Failed: Failed to process query: QUERY_TIMEOUT/,
    );
    expect(failed.error?.message).toContain('the watermark did not move');
    expect((await wh.query('select count(*) as n from pqlsync_state.crm_tasks')).rows[0]?.n).toBe(0);
    const again = await pull(wh, bulk);
    expect(again.status).toBe('success');
    expect(readCounts(again)).toEqual({ Task: PEOPLE, Lead: PEOPLE, Opportunity: 4 });
  });

  /**
   * Pulls into a new warehouse whose second Task watermark write dies (after that transaction's rows), then
   * checks what was kept and that a rerun converges to the SOQL reference; returns the rows and watermark kept.
   */
  async function crashThenRerun(name: string, reader: typeof bulk): Promise<unknown[]> {
    const wh = await warehouse(name);
    const faulty = new FaultyWarehouse(wh, [
      {
        method: 'insertRows',
        match: /crm_watermarks/,
        nth: 2,
        fail: new Error('killed between the rows and the watermark'),
      },
    ]);
    const crashed = await pull(faulty, reader);
    expect(crashed.status).toBe('failed');
    expect(crashed.error?.message).toContain('killed between the rows and the watermark');
    const kept = await wh.query(
      "select (select count(*) from pqlsync_state.crm_tasks) as n, watermark from pqlsync_state.crm_watermarks where object = 'Task'",
    );
    const rerun = await pull(wh, reader);
    expect(rerun.status).toBe('success');
    expect(readCounts(rerun)).toEqual({ Task: PEOPLE, Lead: PEOPLE, Opportunity: 4 });
    expect(await tables(wh)).toEqual(await tables(viaRest));
    return kept.rows;
  }

  it('SOQL path: a pull killed after a page whose last second goes on in the next page converges', async () => {
    // 2,595 tasks share 09:00:00 (5 were completed a second later): the first page of 2,000 ends inside that
    // second. Its rows were kept with a watermark that does not claim the 595 records of that second not read.
    expect(await crashThenRerun('crash-rest', rest)).toEqual([{ n: 2000, watermark: null }]);
  });

  it('moves the watermark only with the rows: a pull killed between them is followed by one that converges', async () => {
    // The first result set was written with the watermark where it was (none): a Bulk read moves it only with
    // its last set, so no row newer than the watermark is ever missing.
    expect(await crashThenRerun('crash-bulk', bulk)).toEqual([{ n: SET, watermark: null }]);
  });
});
