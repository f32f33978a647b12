/**
 * `pqlsync demo --crm salesforce` against a sandbox: the Leads and Accounts in the sandbox equal the models'
 * rows that Salesforce accepts (every mapped field), the rows it refuses are in failures with its reason, and an
 * immediate rerun sends no request at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../../src/cli/commands/demo.js';
import { compileModel } from '../../../src/model/compile-model.js';
import { loadModel } from '../../../src/model/model-file.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { StateStore } from '../../../src/state/state-store.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import type { Row } from '../../../src/warehouse/warehouse-adapter.js';
import { admin, adminRecords } from '../sandbox/salesforce-helpers.js';

setLogger(createLogger({ level: 'silent' }));

describe('pqlsync demo --crm salesforce', () => {
  let sandbox: RunningSandbox;
  let dir: string;
  const savedToken = process.env.PQLSYNC_SANDBOX_TOKEN;

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 11 });
    process.env.PQLSYNC_SANDBOX_TOKEN = sandbox.token;
    dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-sf-demo-'));
  });

  afterAll(async () => {
    if (savedToken === undefined) delete process.env.PQLSYNC_SANDBOX_TOKEN;
    else process.env.PQLSYNC_SANDBOX_TOKEN = savedToken;
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The model's rows, computed independently of the sync (compiled and run on the demo's DuckDB). */
  async function modelRows(name: string): Promise<Row[]> {
    const wh = new DuckdbAdapter({ path: path.join(dir, 'pqlsync.duckdb') });
    await wh.connect();
    try {
      const model = await loadModel(path.join(dir, 'models'), name, 'duckdb');
      return (await wh.query(compileModel(model, { dialect: 'duckdb' }))).rows;
    } finally {
      await wh.close();
    }
  }

  async function failures(sync: string): Promise<Row[]> {
    const wh = new DuckdbAdapter({ path: path.join(dir, 'pqlsync.duckdb') });
    await wh.connect();
    try {
      return await new StateStore(wh, 'pqlsync_state').failures(sync);
    } finally {
      await wh.close();
    }
  }

  it('syncs pql_users to Leads and pqa_accounts to Accounts, then a rerun makes 0 API calls', async () => {
    const result = await runDemo({
      dir,
      users: 3000,
      seed: 42,
      crm: 'salesforce',
      sandbox: sandbox.url,
      run: true,
    });
    expect(result.summaries.map((s) => s.sync)).toEqual(['pqa_accounts', 'pql_users']);

    const users = await modelRows('pql_users');
    const [accountsRun, leadsRun] = result.summaries;
    expect(leadsRun?.status).toBe('success');
    expect(leadsRun?.counts).toMatchObject({ added: users.length, applied: users.length, rejected: 0 });
    expect(users.length).toBeGreaterThan(500);
    // some users have no company: Salesforce requires one on a Lead, so they get the placeholder
    expect(users.filter((r) => r.company_name === null).length).toBeGreaterThan(0);

    const leads = await adminRecords(sandbox, 'Lead');
    const asLead = (r: Row): Record<string, unknown> => ({
      Product_User_Id__c: String(r.user_id),
      Email: r.email ?? null,
      FirstName: r.first_name ?? null,
      LastName: r.last_name ?? '[not provided]',
      Company: r.company_name ?? '[not provided]',
      PQL_Score__c: Number(r.pql_score),
      PQL_Tier__c: r.pql_tier,
      Is_PQL__c: r.is_pql,
      PQL_Reasons__c: r.reasons === '' ? null : r.reasons,
      PQL_Qualified_At__c:
        r.qualified_at === null
          ? null
          : `${new Date(String(r.qualified_at)).toISOString().slice(0, 10)}T00:00:00.000+0000`,
    });
    const fields = Object.keys(asLead(users[0]!));
    const pick = (l: Record<string, unknown>) => Object.fromEntries(fields.map((k) => [k, l[k] ?? null]));
    const byId = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      String(a.Product_User_Id__c).localeCompare(String(b.Product_User_Id__c));
    expect(leads.map(pick).sort(byId)).toEqual(users.map(asLead).sort(byId));
    expect(await failures('pql_users')).toEqual([]);

    const accounts = await modelRows('pqa_accounts');
    const sfAccounts = await adminRecords(sandbox, 'Account');
    expect(accountsRun?.status).toBe('success');
    expect(
      sfAccounts
        .map((a) => ({
          id: a.Product_Account_Id__c,
          Name: a.Name,
          PQA_Score__c: a.PQA_Score__c,
          PQA_Tier__c: a.PQA_Tier__c,
        }))
        .sort((a, b) => String(a.id).localeCompare(String(b.id))),
    ).toEqual(
      accounts
        .map((r) => ({
          id: String(r.account_id),
          Name: r.name,
          PQA_Score__c: Number(r.pqa_score),
          PQA_Tier__c: r.pqa_tier,
        }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    );

    // An immediate rerun: no destination request at all.
    const log = (await admin(sandbox, 'GET', '/_sandbox/requests')).body as Array<{ seq: number }>;
    const before = log.length;
    const rerun = await runDemo({
      dir,
      users: 3000,
      seed: 42,
      crm: 'salesforce',
      sandbox: sandbox.url,
      run: true,
    });
    expect(rerun.summaries.map((s) => s.apiCalls)).toEqual([0, 0]);
    const after = (await admin(sandbox, 'GET', '/_sandbox/requests')).body as Array<{ path: string }>;
    expect(after.slice(before).filter((r) => !r.path.startsWith('/_sandbox'))).toEqual([]);
  }, 180_000);
});
