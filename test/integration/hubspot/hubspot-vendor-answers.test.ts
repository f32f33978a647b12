/**
 * The HubSpot destination against the answers HubSpot really gives (issue 17): a conflict is a whole-request
 * 409 that must never stop the sync, and invalid values are refused before sending (HubSpot would refuse the
 * whole batch with a 400), so the API calls are those of the valid rows only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { MODEL, startHarness, type Harness } from './hubspot-harness.js';

setLogger(createLogger({ level: 'silent' }));

const UPSERT = '/crm/v3/objects/contacts/batch/upsert';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function failures(harness: Harness): Promise<Array<{ key: string; reason: string; code: string }>> {
  const { rows } = await harness.wh.query(
    'select key, reason, code from pqlsync_state.users__failures order by cast(key as integer)',
  );
  return rows.map((r) => ({ key: String(r.key), reason: String(r.reason), code: String(r.code) }));
}

describe('HubSpot destination: conflicts and invalid values as HubSpot answers them', () => {
  it('rejects the one contact whose email belongs to another contact (409), applies and commits the rest; the rerun sends only that row', async () => {
    h = await startHarness({ rows: 150 });
    const other = (await h.admin('POST', '/crm/v3/objects/contacts', {
      properties: { email: 'u42@example.com', firstname: 'Someone else' },
    })) as { id: string };
    const summary = await h.run();
    expect(summary.status).toBe('partial');
    expect(exitCodeFor([summary])).toBe(3);
    expect(summary.counts).toMatchObject({ added: 150, applied: 149, rejected: 1 });
    expect(await failures(h)).toEqual([
      {
        key: '42',
        reason: `HubSpot refused POST ${UPSERT} (409 CONFLICT: Contact already exists. Existing ID: ${other.id})`,
        code: 'DESTINATION_REQUEST_FAILED',
      },
    ]);
    const contacts = await h.contacts(['email']);
    expect(contacts.size).toBe(150); // 149 synced + the other contact
    expect(contacts.has('42')).toBe(false);
    const { rows } = await h.wh.query('select count(*) as n from pqlsync_state.users__snapshot');
    expect(Number(rows[0]?.n)).toBe(149);

    await h.mark();
    const rerun = await h.run();
    expect(rerun.counts).toMatchObject({ added: 1, retried: 1, applied: 0, rejected: 1 });
    expect((await h.requests()).filter((r) => r.path === UPSERT).map((r) => [r.status, r.records])).toEqual([
      [409, 1],
    ]);
  });

  it('ends with every record applied after one 409 CONFLICT injected on a contacts batch upsert', async () => {
    h = await startHarness({ rows: 100 });
    await h.admin('POST', '/_sandbox/faults', {
      route: `POST ${UPSERT}`,
      status: 409,
      body: {
        status: 'error',
        message: 'Contact already exists. Existing ID: 51',
        correlationId: '5e1f0c1d-0000-4000-8000-000000000051',
        category: 'CONFLICT',
      },
      times: 1,
    });
    const summary = await h.run();
    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ added: 100, applied: 100, rejected: 0 });
    expect((await h.requests()).filter((r) => r.path === UPSERT).map((r) => [r.status, r.records])).toEqual([
      [409, 0], // an injected answer: the sandbox core logs no records for it
      [200, 50],
      [200, 50],
    ]);
    expect((await h.contacts()).size).toBe(100);
  });

  it('refuses invalid emails and unknown enumeration options in 1,000 rows before sending: calls = ceil(valid / 100)', async () => {
    h = await startHarness({
      rows: 1000,
      // rows with user_id % 20 = 7 get a tier that is not an option of pql_tier
      model: MODEL.replace(
        "case when score >= 70 then 'hot'",
        "case when user_id % 20 = 7 then 'warm' when score >= 70 then 'hot'",
      ),
      setupSql: [
        `update src.users set email = 'user ' || user_id || ' at example.com' where user_id % 10 = 3`,
      ],
    });
    await h.mark();
    const summary = await h.run();
    const invalid = 100 + 50;
    const valid = 1000 - invalid;
    expect(summary.status).toBe('partial');
    expect(summary.counts).toMatchObject({ added: 1000, applied: valid, rejected: invalid });
    const upserts = (await h.requests()).filter((r) => r.path === UPSERT);
    expect(upserts.every((r) => r.status === 200)).toBe(true);
    expect(upserts).toHaveLength(Math.ceil(valid / 100));
    expect(upserts.reduce((n, r) => n + r.records, 0)).toBe(valid);
    const byKey = new Map((await failures(h)).map((f) => [f.key, f]));
    expect(byKey.size).toBe(invalid);
    expect(byKey.get('3')).toEqual({
      key: '3',
      reason:
        'email: "user 3 at example.com" is not a valid email address (HubSpot refuses it as INVALID_EMAIL)',
      code: 'INVALID_VALUE',
    });
    expect(byKey.get('7')).toEqual({
      key: '7',
      reason: 'pql_tier: "warm" is not an option of pql_tier (options: hot, pql, nurture)',
      code: 'INVALID_VALUE',
    });
  });
});
