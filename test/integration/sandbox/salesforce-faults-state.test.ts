import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { formatSandboxBanner, type RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { admin, adminRecords, connect, rejectionOf, start } from './salesforce-helpers.js';

const running: RunningSandbox[] = [];
async function open(options: Parameters<typeof start>[0] = {}): Promise<RunningSandbox> {
  const sandbox = await start({ now: () => new Date('2026-03-02T09:00:00Z'), ...options });
  running.push(sandbox);
  return sandbox;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

const leads = (from: number, count: number): Array<Record<string, unknown>> =>
  Array.from({ length: count }, (_, i) => ({
    Product_User_Id__c: `u_${from + i}`,
    LastName: `P${from + i}`,
    Company: 'Acme',
  }));

describe('faults', () => {
  it('rejects the nth record with a code for `times` matching requests, then stops', async () => {
    const sandbox = await open();
    const added = await admin(sandbox, 'POST', '/_sandbox/faults', {
      route: 'PATCH /composite/sobjects',
      rejectRecord: { nth: 2, code: 'UNABLE_TO_LOCK_ROW' },
      times: 2,
    });
    expect(added.status).toBe(201);
    const conn = connect(sandbox);
    const outcome = async (from: number): Promise<unknown[]> =>
      (await conn.sobject('Lead').upsert(leads(from, 3), 'Product_User_Id__c')).map((r) =>
        r.success ? 'ok' : r.errors[0],
      );
    const locked = {
      statusCode: 'UNABLE_TO_LOCK_ROW',
      message: 'unable to obtain exclusive access to this record',
      fields: [],
    };
    expect(await outcome(1)).toEqual(['ok', locked, 'ok']);
    expect(await outcome(4)).toEqual(['ok', locked, 'ok']);
    expect(await outcome(7)).toEqual(['ok', 'ok', 'ok']);
    expect((await admin(sandbox, 'GET', '/_sandbox/faults')).body).toEqual({ faults: [] });
  });

  it('answers a matching route with the given status and body, once', async () => {
    const sandbox = await open({
      faults: [
        { route: 'GET /limits', latencyMs: 5, times: 1 },
        {
          route: '/query',
          status: 400,
          body: [{ errorCode: 'QUERY_TIMEOUT', message: 'Your query request was running for too long.' }],
          times: 1,
        },
      ],
    });
    const conn = connect(sandbox);
    const err = await rejectionOf(conn.query('SELECT Id FROM Lead'));
    expect([err.name, err.message]).toEqual([
      'QUERY_TIMEOUT',
      'Your query request was running for too long.',
    ]);
    expect((await conn.query('SELECT Id FROM Lead')).totalSize).toBe(0);
    // A latency-only fault delays the answer and lets the API answer as usual.
    expect((await conn.limits()).DailyApiRequests).toEqual({ Max: 15000, Remaining: 14998 });
    expect((await admin(sandbox, 'GET', '/_sandbox/faults')).body).toEqual({ faults: [] });
  });

  it('resets the connection, which jsforce reports for a POST it does not retry', async () => {
    const sandbox = await open();
    await admin(sandbox, 'POST', '/_sandbox/faults', {
      route: 'POST /composite/sobjects',
      resetConnection: true,
      times: 1,
    });
    const conn = connect(sandbox);
    const err = await rejectionOf(conn.sobject('Contact').create([{ LastName: 'Kim' }]));
    expect(err.message).toMatch(/socket hang up|ECONNRESET/);
    expect(await conn.sobject('Contact').create([{ LastName: 'Kim' }])).toEqual([
      { id: '003Sb0000000001IAA', success: true, errors: [] },
    ]);
    const log = (await admin(sandbox, 'GET', '/_sandbox/requests')).body as Array<{ status: number }>;
    expect(log.map((e) => e.status)).toEqual([0, 200]);
  });

  it('applies a probabilistic fault the same way for the same seed', async () => {
    const pattern = async (seed: number): Promise<number[]> => {
      const sandbox = await open({ seed, faults: [{ route: '/limits', status: 503, probability: 0.5 }] });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${sandbox.url}/services/data/v62.0/limits`, {
          headers: { Authorization: `Bearer ${sandbox.token}` },
        });
        statuses.push(res.status);
      }
      return statuses;
    };
    const first = await pattern(42);
    expect(await pattern(42)).toEqual(first);
    expect(first).toContain(503);
    expect(first).toContain(200);
  });

  it('refuses an invalid fault and lists every problem', async () => {
    const sandbox = await open();
    expect(
      await admin(sandbox, 'POST', '/_sandbox/faults', { status: 9000, rejectRecord: { nth: 0 } }),
    ).toEqual({
      status: 400,
      body: {
        error: 'invalid fault',
        problems: [
          'fault.route: expected a string such as "PATCH /composite/sobjects"',
          'fault.status: expected a number from 100 to 599, got 9000',
          'fault.rejectRecord: expected {"nth": <1-based record number>, "code": "<STATUS_CODE>"}',
        ],
      },
    });
  });
});

describe('admin routes, page and state', () => {
  it('needs the token on admin routes, serves the page and the view to loopback hosts only', async () => {
    const sandbox = await open({ token: 'test-token-123' });
    const noToken = await fetch(`${sandbox.url}/_sandbox/requests`);
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toEqual({
      error: 'unauthorized',
      message:
        'sandbox admin routes need the header Authorization: Bearer <the token pqlsync sandbox printed>',
    });
    const page = await fetch(`${sandbox.url}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<title>pqlsync sandbox</title>');
    const view = (await (await fetch(`${sandbox.url}/_sandbox/view`)).json()) as {
      salesforce: { users: unknown[] };
    };
    expect(view.salesforce.users).toHaveLength(5);
    expect(formatSandboxBanner(sandbox)).toBe(
      [
        `pqlsync sandbox listening on ${sandbox.url}`,
        `  page:       ${sandbox.url}/`,
        '  token:      test-token-123',
        `  Salesforce: instanceUrl ${sandbox.url} (REST under /services/data/v62.0, OAuth at /services/oauth2/token)`,
        `  HubSpot:    basePath ${sandbox.url} (CRM under /crm/v3)`,
        '  state:      in memory (pass --state FILE to keep it)',
        `  admin:      ${sandbox.url}/_sandbox/requests, /_sandbox/faults, /_sandbox/reset (same token)`,
        '',
        'export PQLSYNC_SANDBOX_TOKEN=test-token-123',
      ].join('\n'),
    );
  });

  it('reads the request log since a sequence number and empties everything on reset', async () => {
    const sandbox = await open();
    const conn = connect(sandbox);
    await conn.sobject('Lead').upsert(leads(1, 2), 'Product_User_Id__c');
    await conn.query('SELECT Id FROM Lead');
    const since = (await admin(sandbox, 'GET', '/_sandbox/requests?since=1')).body as Array<{
      seq: number;
      method: string;
    }>;
    expect(since.map((e) => [e.seq, e.method])).toEqual([[2, 'GET']]);
    await admin(sandbox, 'POST', '/_sandbox/faults', { route: '*', status: 500 });
    expect((await admin(sandbox, 'POST', '/_sandbox/reset')).body).toEqual({ reset: true });
    expect(await adminRecords(sandbox, 'Lead')).toEqual([]);
    expect((await admin(sandbox, 'GET', '/_sandbox/requests')).body).toEqual([]);
    expect((await conn.query('SELECT Id FROM Lead')).totalSize).toBe(0);
  });

  it('keeps records, usage and jobs across a restart with the same state file', async () => {
    const statePath = join(mkdtempSync(join(tmpdir(), 'pqlsync-sandbox-')), 'state.json');
    const first = await open({ statePath, token: 'persist-token' });
    await connect(first).sobject('Lead').upsert(leads(1, 3), 'Product_User_Id__c');
    await first.close();
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as {
      version: number;
      vendors: Record<string, unknown>;
    };
    expect(saved.version).toBe(1);
    expect(Object.keys(saved.vendors)).toEqual(['salesforce', 'hubspot']);

    const second = await open({ statePath, token: 'persist-token' });
    const conn = connect(second);
    const rows = await conn.query<{ Product_User_Id__c: string }>(
      'SELECT Product_User_Id__c FROM Lead ORDER BY Product_User_Id__c',
    );
    expect(rows.records.map((r) => r.Product_User_Id__c)).toEqual(['u_1', 'u_2', 'u_3']);
    expect(conn.limitInfo).toEqual({ apiUsage: { used: 2, limit: 15000 } });
    const [created] = await conn.sobject('Lead').create([{ LastName: 'Next', Company: 'Acme' }]);
    expect(created?.id).toBe('00QSb0000000004MAA');
  });

  it('refuses a state file that is not a sandbox state', async () => {
    const statePath = join(mkdtempSync(join(tmpdir(), 'pqlsync-sandbox-')), 'state.json');
    writeFileSync(statePath, '{"hello": 1}');
    const err = await rejectionOf(start({ statePath }));
    expect(err).toBeInstanceOf(PqlsyncError);
    expect((err as PqlsyncError).format()).toBe(
      `${statePath}: sandbox state file has no "version": 1 and "vendors" object\n  hint: delete the file to start the sandbox empty, or point --state at another file`,
    );
  });
});
