/**
 * The sandbox's Bulk API 2.0 query routes, over plain HTTP so the headers are visible: a job starts
 * UploadComplete and completes over status checks; results come in sets of `maxRecords` with a header row each,
 * `Sforce-NumberOfRecords` and `Sforce-Locator` (the string `null` on the last set); a null is an empty field;
 * a job can be made to end Failed; COUNT() is refused; results before completion are refused. And why pqlsync
 * reads the sets itself: jsforce 3.10.16's `conn.bulk2.query()` crashes its process on results of several sets.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { admin, start } from './salesforce-helpers.js';

let sandbox: RunningSandbox;
const base = '/services/data/v62.0/jobs/query';

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; text: string; json: () => Record<string, unknown> }> {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${sandbox.token}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

/** Creates a job and checks its status until it is final; returns the job id and the states seen. */
async function runJob(
  query: string,
): Promise<{ id: string; states: string[]; info: Record<string, unknown> }> {
  const created = await call('POST', base, { operation: 'query', query });
  expect(created.status).toBe(200);
  const id = String(created.json().id);
  const states = [String(created.json().state)];
  let info: Record<string, unknown> = created.json();
  while (!['JobComplete', 'Failed', 'Aborted'].includes(String(info.state))) {
    info = (await call('GET', `${base}/${id}`)).json();
    states.push(String(info.state));
  }
  return { id, states, info };
}

beforeEach(async () => {
  sandbox = await start({
    now: () => new Date('2026-03-02T09:00:00Z'),
    salesforce: { bulkPollsBeforeComplete: 2 },
  });
  await admin(sandbox, 'POST', '/_sandbox/salesforce/Opportunity', {
    records: [
      { Name: 'A', StageName: 'Prospecting', CloseDate: '2026-04-01', Amount: 1200 },
      { Name: 'B, "quoted"', StageName: 'Closed Won', CloseDate: '2026-04-02' },
      { Name: 'C', StageName: 'Prospecting', CloseDate: '2026-04-03', Amount: 7.5 },
    ],
  });
});
afterEach(async () => {
  await sandbox.close();
});

describe('Bulk API 2.0 query', () => {
  it('completes over status checks and serves the results in sets linked by Sforce-Locator', async () => {
    const job = await runJob('SELECT Id, Name, Amount, IsWon, CreatedDate FROM Opportunity ORDER BY Name');
    expect(job.states).toEqual(['UploadComplete', 'InProgress', 'InProgress', 'JobComplete']);
    expect(job.info).toMatchObject({ operation: 'query', object: 'Opportunity', numberRecordsProcessed: 3 });

    const first = await call('GET', `${base}/${job.id}/results?maxRecords=2`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/csv');
    expect(first.headers.get('sforce-numberofrecords')).toBe('2');
    const locator = first.headers.get('sforce-locator');
    // The next offset in base64, as Salesforce's locators are ("MTAwMDA" = "10000").
    expect(locator).toBe(Buffer.from('2').toString('base64').replace(/=+$/, ''));
    const lines = first.text.split('\n');
    expect(lines[0]).toBe('"Id","Name","Amount","IsWon","CreatedDate"');
    // A null is an empty field; every value is quoted; date-times end in Z.
    expect(lines[1]).toMatch(/^"006\w{15}","A","1200","false","2026-03-02T09:00:00.000Z"$/);
    expect(lines[2]).toMatch(/^"006\w{15}","B, ""quoted""",,"true","2026-03-02T09:00:00.000Z"$/);

    const last = await call('GET', `${base}/${job.id}/results?maxRecords=2&locator=${locator}`);
    expect(last.headers.get('sforce-numberofrecords')).toBe('1');
    expect(last.headers.get('sforce-locator')).toBe('null');
    // Each set has its own header row.
    expect(parse(last.text, { columns: true })).toEqual([
      { Id: expect.any(String), Name: 'C', Amount: '7.5', IsWon: 'false', CreatedDate: expect.any(String) },
    ]);
    // A locator stays valid as long as the job exists.
    const again = await call('GET', `${base}/${job.id}/results?maxRecords=2&locator=${locator}`);
    expect(again.text).toBe(last.text);
    // Without maxRecords the service's default set holds them all.
    const whole = await call('GET', `${base}/${job.id}/results`);
    expect(whole.headers.get('sforce-numberofrecords')).toBe('3');
    expect(whole.headers.get('sforce-locator')).toBe('null');

    const stats = (await admin(sandbox, 'GET', '/_sandbox/salesforce/bulk/query')).body;
    expect(stats).toEqual({ queryJobsCreated: 1, queryRecordsServed: 7 });
  });

  it('refuses results before the job is complete, COUNT(), unknown fields and a bad locator', async () => {
    const created = await call('POST', base, { operation: 'query', query: 'SELECT Id FROM Opportunity' });
    const early = await call('GET', `${base}/${String(created.json().id)}/results`);
    expect([early.status, early.json()]).toEqual([
      400,
      [
        {
          errorCode: 'INVALIDJOB',
          message: `Job ${String(created.json().id)} is UploadComplete, not JobComplete`,
        },
      ],
    ]);
    const count = await call('POST', base, { operation: 'query', query: 'SELECT COUNT() FROM Opportunity' });
    expect([count.status, count.json()]).toEqual([
      400,
      [
        {
          errorCode: 'API_ERROR',
          message:
            'Bulk API 2.0 query does not support aggregate functions such as COUNT() or OFFSET; use the REST query',
        },
      ],
    ]);
    const unknown = await call('POST', base, { operation: 'query', query: 'SELECT Nope FROM Opportunity' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.json())).toContain('INVALID_FIELD');
    const job = await runJob('SELECT Id FROM Opportunity');
    const bad = await call('GET', `${base}/${job.id}/results?locator=bm9wZQ`);
    expect([bad.status, bad.json()]).toEqual([
      400,
      [{ errorCode: 'INVALIDJOB', message: 'Invalid locator: bm9wZQ' }],
    ]);
  });

  it('ends a job Failed with its errorMessage when told to; aborts and deletes jobs', async () => {
    await admin(sandbox, 'POST', '/_sandbox/salesforce/bulk/query-failures', {
      count: 1,
      errorMessage: 'Failed to process query: QUERY_TIMEOUT',
    });
    const failed = await runJob('SELECT Id FROM Opportunity');
    expect(failed.states).toEqual(['UploadComplete', 'InProgress', 'InProgress', 'Failed']);
    expect(failed.info.errorMessage).toBe('Failed to process query: QUERY_TIMEOUT');
    expect((await call('GET', `${base}/${failed.id}/results`)).status).toBe(400);
    // Only the next job fails.
    expect((await runJob('SELECT Id FROM Opportunity')).info.state).toBe('JobComplete');

    const open = await call('POST', base, { operation: 'query', query: 'SELECT Id FROM Opportunity' });
    const id = String(open.json().id);
    expect((await call('DELETE', `${base}/${id}`)).status).toBe(400);
    const aborted = await call('PATCH', `${base}/${id}`, { state: 'Aborted' });
    expect(aborted.json().state).toBe('Aborted');
    expect((await call('DELETE', `${base}/${id}`)).status).toBe(204);
    expect((await call('GET', `${base}/${id}`)).status).toBe(404);
  });

  it("crashes jsforce 3.10.16's bulk2.query when the results come in several sets (jsforce#1546)", async () => {
    // A small default set makes the sandbox answer the 3 records in 3 sets, as Salesforce does for large results.
    const small = await start({
      now: () => new Date('2026-03-02T09:00:00Z'),
      salesforce: { bulkQueryPageSize: 1 },
    });
    await admin(small, 'POST', '/_sandbox/salesforce/Opportunity', {
      records: ['A', 'B', 'C'].map((Name) => ({ Name, StageName: 'Prospecting', CloseDate: '2026-04-01' })),
    });
    const script = `
      for (const name of ['https_proxy', 'http_proxy', 'HTTPS_PROXY', 'HTTP_PROXY']) delete process.env[name];
      const { default: jsforce } = await import('jsforce');
      const conn = new jsforce.Connection({ instanceUrl: process.argv[1], accessToken: process.argv[2], version: '62.0' });
      const records = await conn.bulk2.query('SELECT Id FROM Opportunity', { pollInterval: 1, pollTimeout: 60000 });
      const got = [];
      records.on('record', (r) => got.push(r));
      await new Promise((resolve) => records.on('end', resolve));
      console.log('read ' + got.length);`;
    try {
      const run = await promisify(execFile)(
        process.execPath,
        ['--input-type=module', '-e', script, small.url, small.token],
        { timeout: 60_000 },
      ).then(
        (out) => ({ code: 0, stderr: out.stderr, stdout: out.stdout }),
        (e: { code: number; stderr: string; stdout: string }) => e,
      );
      // If a jsforce release reads several sets, this fails: bulk2.query could then replace our own reading.
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('ERR_STREAM_WRITE_AFTER_END');
      expect(run.stdout).toBe('');
    } finally {
      await small.close();
    }
  });
});
