/**
 * Converted Leads (issue 20): once a rep converts a Lead, Salesforce refuses every update of it with
 * CANNOT_UPDATE_CONVERTED_LEAD ("cannot reference converted lead"). The next score sync skips those Leads: not a
 * rejection, not a failure retried by later runs, no routing task, and the other Leads' changes are written, on
 * the Collections and the Bulk API 2.0 paths, through the sandbox with the real jsforce.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SalesforceDestination } from '../../../src/destination/salesforce/salesforce-destination.js';
import { exitCodeFor } from '../../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { lastSeq, salesforceFixture, type SalesforceFixture } from './salesforce-fixture.js';

setLogger(createLogger({ level: 'silent' }));

const ROUTING = `    routing: { tier_column: tier }`;

describe.each([
  { path: 'Collections', bulkThreshold: 2000 },
  { path: 'Bulk API 2.0', bulkThreshold: 5 },
])('converted Leads on the $path path', ({ path, bulkThreshold }) => {
  let f: SalesforceFixture | undefined;

  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('skips them: the other Leads are written, nothing is rejected or resent, and no task is created', async () => {
    f = await salesforceFixture();
    const fx = f;
    fx.writeConfig({ bulkThreshold, extra: ROUTING });
    await fx.seedUsers(20);
    const bulk: SalesforceDestination | undefined =
      path === 'Collections' ? undefined : fx.destinationWithFakeClock();
    const run = () => fx.run(bulk ? { destination: bulk } : {});
    expect((await run()).counts).toMatchObject({ added: 20, applied: 20, rejected: 0 });
    const leadId = async (user: string) =>
      String((await fx.leads()).find((l) => l.Product_User_Id__c === user)?.Id);
    // Reps convert u1 and u2 (nurture); then the model moves u1, u2 and u3 up to pql, and every row's reasons change.
    const converted = [await leadId('u1'), await leadId('u2')];
    for (const id of converted)
      expect((await fx.admin('POST', `/_sandbox/salesforce/Lead/${id}/convert`, {})).status).toBe(200);
    const tasksBefore = await fx.admin('GET', '/_sandbox/salesforce/Task');
    await fx.wh.query(
      `update src.users set score = 60, tier = 'pql', is_pql = true where user_id in ('u1', 'u2', 'u3')`,
    );
    await fx.wh.query(`update src.users set reasons = reasons || ' (changed)'`);
    const seq = await lastSeq(fx);

    const second = await run();
    expect(second.error).toBeUndefined();
    expect(second.status).toBe('success');
    expect(exitCodeFor([second])).toBe(0);
    expect(second.counts).toMatchObject({ changed: 20, applied: 18, rejected: 0 });
    expect(await fx.failures()).toEqual([]);
    const sent = await fx.requests(seq);
    if (path === 'Collections') expect(sent.some((r) => r.path.includes('/jobs/ingest'))).toBe(false);
    else expect(sent.some((r) => r.method === 'PUT' && r.path.includes('/jobs/ingest'))).toBe(true);
    const leads = await fx.leads();
    const reasons = (user: string) => leads.find((l) => l.Product_User_Id__c === user)?.PQL_Reasons__c;
    // The converted Leads keep what they held when converted; the rest took the change.
    expect([reasons('u1'), reasons('u2'), reasons('u3')]).toEqual([
      'score 7; 1 invites',
      'score 14; 2 invites',
      'score 21; 0 invites (changed)',
    ]);
    // Routing: u3 entered pql and got a task; the converted u1 and u2 got none.
    const tasks = (
      (await fx.admin('GET', '/_sandbox/salesforce/Task')).body as { records: Array<Record<string, unknown>> }
    ).records;
    const before = (tasksBefore.body as { records: unknown[] }).records.length;
    const newTasks = tasks.slice(before).map((t) => t.WhoId);
    expect(newTasks).toEqual([await leadId('u3')]);
    expect(tasks.some((t) => converted.includes(String(t.WhoId)))).toBe(false);
    // The snapshot keeps the converted Leads, with their record ids, so a rerun sends nothing.
    const snapshot = await fx.wh.query(
      `select key, destination_id from pqlsync_state.leads__snapshot where key in ('u1', 'u2') order by key`,
    );
    expect(snapshot.rows.map((r) => [r.key, r.destination_id])).toEqual([
      ['u1', converted[0]],
      ['u2', converted[1]],
    ]);
    const seq2 = await lastSeq(fx);
    const third = await run();
    expect(third.counts).toMatchObject({ added: 0, changed: 0, applied: 0, rejected: 0 });
    expect((await fx.requests(seq2)).filter((r) => r.method !== 'GET')).toEqual([]);
  });
});
