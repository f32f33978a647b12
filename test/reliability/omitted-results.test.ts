/**
 * A write the CRM answered with 200/201/207 but without some records' results (the sandbox's `omitResults`
 * fault: the records are written, their results left out). Those records must stay retryable (not in the
 * snapshot, in failures, sent again by the next run) and no result may be given to another record:
 * - HubSpot matches results by `objectWriteTraceId` (else the match property), so only the two records without a
 *   result are retried. Seen failing with hubspot-destination.ts giving a record without a result
 *   `status: 'applied'`.
 * - Salesforce Collections match results by position, so a response one result short cannot be matched at all:
 *   every record of the call is retried. Seen failing without `unmatchedResults` in salesforce-destination.ts
 *   (results shifted onto the wrong records: an invalid row marked synced, the last records without an outcome).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import {
  admin,
  checkConverged,
  checkInvariants,
  configText,
  CRMS,
  invalidRows,
  reliabilityProject,
  runInProcess,
  STATE,
  SYNC,
  type Crm,
  type ReliabilityProject,
} from './crm-harness.js';

setLogger(createLogger({ level: 'silent' }));

const ROWS = 30;

/** The reason a record without a result is kept with, when a call carried `sent` records. */
const NO_RESULT: Record<Crm, (sent: number) => string> = {
  hubspot: () => 'HubSpot returned no result for this record',
  salesforce: (sent) =>
    `Salesforce returned ${sent - 2} results for the ${sent} records of a Collections call, so none can be matched to its record`,
};

/** The CRM's record id for each match value. */
async function crmIds(p: ReliabilityProject): Promise<Map<string, string>> {
  if (p.profile.crm === 'salesforce') {
    const body = (await admin(p.sandbox, 'GET', '/_sandbox/salesforce/Lead')) as {
      records: Array<{ Id: string; Product_User_Id__c: string }>;
    };
    return new Map(body.records.map((r) => [r.Product_User_Id__c, r.Id]));
  }
  const body = (await admin(p.sandbox, 'GET', '/_sandbox/hubspot/contacts')) as {
    results: Array<{ id: string; properties: Record<string, string | null> }>;
  };
  return new Map(body.results.map((r) => [String(r.properties.product_user_id), r.id]));
}

describe.each(CRMS)('results left out of a write response: %s', (crm) => {
  let p: ReliabilityProject | undefined;
  let wh: DuckdbAdapter | undefined;
  afterEach(async () => {
    await wh?.close();
    await p?.close();
    wh = undefined;
    p = undefined;
  });

  it('records without a result stay retryable and are sent again; no result goes to another record', async () => {
    p = await reliabilityProject(crm, { rows: ROWS });
    // One try per batch, so what a run leaves retryable is visible in its failures.
    const config = configText(p.profile).replace('max_attempts: 6', 'max_attempts: 1');
    expect(config).toContain('max_attempts: 1');
    p.project.writeConfig(config);
    wh = new DuckdbAdapter({ path: p.dbPath });
    await wh.connect();

    await admin(p.sandbox, 'POST', '/_sandbox/faults', {
      route: p.profile.writeRoute,
      omitResults: [2, 5],
      times: 1,
    });
    const faulted = await runInProcess(p, wh, { bump: 0, rows: ROWS });
    expect(faulted.status).toBe('partial');
    await checkInvariants(p, wh, faulted);
    const { faults: left } = (await admin(p.sandbox, 'GET', '/_sandbox/faults')) as { faults: unknown[] };
    expect(left).toEqual([]);

    const failures = (
      await wh.query(`select key, reason from ${STATE}.${SYNC}__failures order by key`)
    ).rows.map((r) => ({ key: String(r.key), reason: String(r.reason) }));
    // The invalid rows never reach the call: they are refused against the CRM's field metadata before batching.
    const invalidKeys = new Set(invalidRows(p.profile, ROWS).map((i) => `u${i}`));
    const sent = ROWS - invalidKeys.size;
    const retried = failures.filter((f) => f.reason === NO_RESULT[crm](sent)).map((f) => f.key);
    const snapshot = (await wh.query(`select key from ${STATE}.${SYNC}__snapshot`)).rows.map((r) =>
      String(r.key),
    );
    // The valid records were written all the same.
    const written = await crmIds(p);
    for (const key of retried.filter((k) => !invalidKeys.has(k))) expect(written.has(key), key).toBe(true);
    if (crm === 'hubspot') {
      expect(retried).toHaveLength(2);
      const invalid = invalidKeys.size;
      expect(faulted.counts).toMatchObject({ applied: ROWS - invalid - 2, rejected: invalid + 2 });
      expect(snapshot).toHaveLength(ROWS - invalid - 2);
      for (const key of retried) expect(snapshot).not.toContain(key);
    } else {
      // HubSpot-style per-record matching is not possible: none of the call's records is taken as applied.
      expect(retried).toHaveLength(sent);
      expect(faulted.counts).toMatchObject({ applied: 0, rejected: ROWS });
      expect(snapshot).toEqual([]);
    }

    const clean = await runInProcess(p, wh, { bump: 0, rows: ROWS });
    expect(clean.counts.retried).toBeGreaterThanOrEqual(retried.length);
    await checkInvariants(p, wh, clean);
    await checkConverged(p, wh, ROWS, 0);
    // Each snapshot row names its own record in the CRM.
    const ids = await crmIds(p);
    const { rows } = await wh.query(`select key, destination_id from ${STATE}.${SYNC}__snapshot`);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.destination_id, String(r.key)).toBe(ids.get(String(r.key)));
  }, 60_000);
});
