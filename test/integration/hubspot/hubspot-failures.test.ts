import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import {
  HubspotDestination,
  type HubspotDestinationConfig,
} from '../../../src/destination/hubspot/hubspot-destination.js';
import { exitCodeFor } from '../../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import {
  CONTACT_PROPS,
  expectedContact,
  MODEL,
  startHarness,
  TOKEN,
  type Harness,
} from './hubspot-harness.js';

setLogger(createLogger({ level: 'silent' }));

let h: Harness | undefined;
let made: HubspotDestination | undefined;
afterEach(async () => {
  await made?.close();
  made = undefined;
  await h?.close();
  h = undefined;
});

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const UPSERT = '/crm/v3/objects/contacts/batch/upsert';

async function failures(harness: Harness): Promise<Array<{ key: string; reason: string; code: string }>> {
  const { rows } = await harness.wh.query(
    'select key, reason, code from pqlsync_state.users__failures order by cast(key as integer)',
  );
  return rows.map((r) => ({ key: String(r.key), reason: String(r.reason), code: String(r.code) }));
}

/** A destination built from the harness config whose rate-limit pauses move the sandbox clock. */
function clockedDestination(harness: Harness, sleeps: number[]): () => Promise<HubspotDestination> {
  return () => {
    const config = loadConfig(harness.project.configPath).config.destinations
      .hubspot as HubspotDestinationConfig;
    made ??= new HubspotDestination({
      name: 'hubspot',
      config,
      now: () => harness.clock.now,
      sleep: (ms) => {
        sleeps.push(ms);
        harness.clock.now += ms;
        return Promise.resolve();
      },
    });
    return Promise.resolve(made);
  };
}

describe('HubSpot destination: record and batch failures', () => {
  it('rejects invalid emails before sending (no API call), with a field-level reason; the rest applied', async () => {
    h = await startHarness({ rows: 150 });
    await h.wh.query(`update src.users set email = 'n/a' where user_id in (3, 120)`);
    await h.wh.query(`update src.users set email = 'foo@' where user_id = 77`);
    const summary = await h.run();
    expect(summary.status).toBe('partial');
    expect(exitCodeFor([summary])).toBe(3);
    expect(summary.counts).toMatchObject({ added: 150, applied: 147, rejected: 3 });
    // HubSpot would refuse each whole batch (400 INVALID_EMAIL); checked locally, the batches go through whole.
    const upserts = (await h.requests()).filter((r) => r.path === UPSERT);
    expect(upserts.map((r) => [r.status, r.records])).toEqual([
      [200, 100],
      [200, 47],
    ]);
    const reason = (email: string): string =>
      `email: "${email}" is not a valid email address (HubSpot refuses it as INVALID_EMAIL)`;
    expect(await failures(h)).toEqual([
      { key: '3', reason: reason('n/a'), code: 'INVALID_VALUE' },
      { key: '77', reason: reason('foo@'), code: 'INVALID_VALUE' },
      { key: '120', reason: reason('n/a'), code: 'INVALID_VALUE' },
    ]);
    const contacts = await h.contacts(CONTACT_PROPS);
    expect([...contacts.keys()].sort((a, b) => Number(a) - Number(b))).toEqual(
      range(150)
        .filter((i) => ![3, 77, 120].includes(i))
        .map(String),
    );

    // The next run retries exactly the rejected keys; fixed emails go through.
    await h.wh.query(
      `update src.users set email = 'u' || user_id || '@example.com' where user_id in (3, 77)`,
    );
    const second = await h.run();
    // never applied, so still `added`; `retried` counts them as failures tried again
    expect(second.counts).toMatchObject({ added: 3, retried: 3, applied: 2, rejected: 1 });
    // the row still invalid is refused again locally: only the two fixed rows are sent
    expect((await h.requests()).filter((r) => r.path === UPSERT).map((r) => r.records)).toEqual([2]);
    expect((await h.contacts(CONTACT_PROPS)).get('77')).toEqual(expectedContact(77));
    expect((await failures(h)).map((f) => f.key)).toEqual(['120']);
  });

  it('splits a batch HubSpot refuses whole (400) until the one bad record is isolated; 99 records land', async () => {
    h = await startHarness({ rows: 100, fieldsExtra: '      hubspot_owner_id: owner_id\n' });
    await h.wh.query(`update src.users set owner_id = case when user_id = 42 then '999' else '41629779' end`);
    const summary = await h.run();
    expect(summary.status).toBe('partial');
    expect(summary.counts).toMatchObject({ applied: 99, rejected: 1 });
    expect(await failures(h)).toEqual([
      {
        key: '42',
        reason:
          'HubSpot refused POST /crm/v3/objects/contacts/batch/upsert (400 VALIDATION_ERROR: Property values were ' +
          'not valid: hubspot_owner_id: 999 is not a valid owner id (INVALID_OWNER_ID))',
        code: 'DESTINATION_REQUEST_FAILED',
      },
    ]);
    const upserts = (await h.requests()).filter((r) => r.path === UPSERT);
    const refused = upserts.filter((r) => r.status === 400);
    const accepted = upserts.filter((r) => r.status === 200);
    // Each split sends two halves: one refused (it holds record 42) and one accepted.
    expect(accepted).toHaveLength(refused.length - 1);
    expect(accepted.reduce((n, r) => n + r.records, 0)).toBe(99);
    expect(refused.length).toBeLessThanOrEqual(1 + Math.ceil(Math.log2(100)));
    const contacts = await h.contacts(['hubspot_owner_id']);
    expect(contacts.size).toBe(99);
    expect(contacts.has('42')).toBe(false);
    expect(contacts.get('41')).toEqual({ hubspot_owner_id: '41629779' });
  });

  it('refuses values a property cannot take before sending, for that record only', async () => {
    h = await startHarness({
      rows: 20,
      fieldsExtra: '      pql_plan: plan\n',
      propertiesExtra: '        pql_plan: { type: enumeration, options: [free, pro, enterprise] }\n',
      model: MODEL.replace('owner_id\nfrom', 'owner_id, plan\nfrom'),
      setupSql: [
        'alter table src.users add column plan varchar',
        `update src.users set plan = case when user_id = 5 then 'platinum' else 'pro' end`,
      ],
    });
    const summary = await h.run();
    expect(summary.counts).toMatchObject({ applied: 19, rejected: 1 });
    expect(await failures(h)).toEqual([
      {
        key: '5',
        reason: 'pql_plan: "platinum" is not an option of pql_plan (options: free, pro, enterprise)',
        code: 'INVALID_VALUE',
      },
    ]);
    expect((await h.requests()).filter((r) => r.path === UPSERT).map((r) => [r.status, r.records])).toEqual([
      [200, 19],
    ]);
  });
});

describe('HubSpot destination: rate limits, daily limit, auth', () => {
  it('paces by the window HubSpot announces (6 / 10 s, below rate_limit): every record applied, no 429', async () => {
    h = await startHarness({ rows: 1_000, sandbox: { tenSecondlyLimit: 6 } });
    const start = h.clock.now;
    const sleeps: number[] = [];
    const summary = await h.run({ destination: clockedDestination(h, sleeps), retry: { maxAttempts: 8 } });
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ applied: 1_000, rejected: 0 });
    const log = await h.requests();
    // The limiter reads X-HubSpot-RateLimit-Max / -Interval-Milliseconds from the preflight's answers.
    expect(log.filter((r) => r.status === 429)).toEqual([]);
    expect(log.filter((r) => r.path === UPSERT && r.status === 200).reduce((n, r) => n + r.records, 0)).toBe(
      1_000,
    );
    // every pause waits for a slot of the window the sandbox announced (X-HubSpot-RateLimit-Interval-Milliseconds)
    expect(sleeps.length).toBeGreaterThan(0);
    expect(sleeps.every((ms) => ms > 0 && ms <= 10_000)).toBe(true);
    expect(h.clock.now - start).toBeGreaterThanOrEqual(10_000);
    expect((await h.contacts(CONTACT_PROPS)).get('1000')).toEqual(expectedContact(1000));
  });

  it('retries injected 429 TEN_SECONDLY_ROLLING bursts after a pause, without losing or repeating records', async () => {
    h = await startHarness({ rows: 300 });
    await h.admin('POST', '/_sandbox/faults', {
      route: 'POST /crm/v3/objects/contacts/batch/upsert',
      status: 429,
      body: {
        status: 'error',
        message: 'You have reached your ten_secondly_rolling limit.',
        errorType: 'RATE_LIMIT',
        correlationId: 'c-1',
        policyName: 'TEN_SECONDLY_ROLLING',
      },
      times: 3,
    });
    const sleeps: number[] = [];
    const summary = await h.run({ destination: clockedDestination(h, sleeps) });
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ applied: 300, rejected: 0 });
    const upserts = (await h.requests()).filter((r) => r.path === UPSERT);
    expect(upserts.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429, 429]);
    expect(summary.apiCalls).toBe(4 + 6);
    expect(sleeps.length).toBeGreaterThan(0);
    expect(sleeps.every((ms) => ms > 0 && ms <= 10_000)).toBe(true);
    expect((await h.contacts()).size).toBe(300);
  });

  it('stops at the daily limit with the usage figures, keeps what was applied, and sends the rest the next day', async () => {
    // preflight makes 4 requests; 2 batch upserts fit in the day; X-HubSpot-RateLimit-Daily-Remaining says so,
    // so the 3rd is not sent
    h = await startHarness({ rows: 300, sandbox: { dailyLimit: 6 } });
    const summary = await h.run();
    expect(summary.status).toBe('failed');
    expect(exitCodeFor([summary])).toBe(1);
    expect(summary.counts).toMatchObject({ added: 300, applied: 200, rejected: 0 });
    expect(summary.error).toEqual({
      code: 'DESTINATION_DAILY_LIMIT',
      kind: 'system',
      message:
        "sync users: HubSpot's daily API limit is used up (6 of 6 requests used today); the run stopped after " +
        "committing what was applied\n  hint: the limit resets at midnight in the HubSpot account's time zone; " +
        'the next run sends the rest',
      location: { sync: 'users' },
      hint: "the limit resets at midnight in the HubSpot account's time zone; the next run sends the rest",
    });
    const statuses = (await h.requests()).filter((r) => r.path === UPSERT).map((r) => r.status);
    expect(statuses.sort()).toEqual([200, 200]);
    expect((await h.contacts()).size).toBe(200);

    h.clock.now += 86_400_000;
    const next = await h.run();
    expect(next.status).toBe('success');
    expect(next.counts).toMatchObject({ added: 100, applied: 100 });
    expect((await h.contacts(CONTACT_PROPS)).size).toBe(300);
  });

  it('fails the run on a 401 with a clear message, no retry, and no token in it', async () => {
    const wrong = 'pat-na1-wrong-token-0000';
    h = await startHarness({ rows: 10, token: wrong });
    const summary = await h.run();
    expect(summary.status).toBe('failed');
    expect(exitCodeFor([summary])).toBe(1);
    expect(summary.counts).toMatchObject({ added: 10, applied: 0 });
    expect(summary.error?.code).toBe('DESTINATION_AUTH_FAILED');
    expect(summary.error?.message).toBe(
      "sync users, destinations.hubspot.access_token: HubSpot refused the access token of destination 'hubspot' " +
        '(GET /crm/v3/properties/contacts answered 401 INVALID_AUTHENTICATION: Authentication credentials not ' +
        'found. This API supports OAuth 2.0 authentication and you can find more details at ' +
        'https://developers.hubspot.com/docs/methods/auth/oauth-overview)\n' +
        '  hint: set access_token to a private app token (pat-...) from HubSpot Settings > Integrations > Private ' +
        'Apps; a 401 is not retried',
    );
    expect(JSON.stringify(summary)).not.toContain(wrong);
    expect(JSON.stringify(summary)).not.toContain(TOKEN);
    expect(await h.requests()).toEqual([
      { method: 'GET', path: '/crm/v3/properties/contacts', status: 401, records: 0 },
    ]);
  });
});
