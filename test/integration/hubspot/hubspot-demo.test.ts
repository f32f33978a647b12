import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runDemo } from '../../../src/cli/commands/demo.js';
import { compileModel } from '../../../src/model/compile-model.js';
import { loadModel } from '../../../src/model/model-file.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import type { Row } from '../../../src/warehouse/warehouse-adapter.js';

setLogger(createLogger({ level: 'silent' }));

const TOKEN = 'pat-na1-demo-sandbox-token';
// The sandbox's (and HubSpot's) idea of a valid email.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

let sandbox: RunningSandbox | undefined;
let dir: string | undefined;
afterEach(async () => {
  vi.unstubAllEnvs();
  await sandbox?.close();
  sandbox = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function admin(path: string): Promise<unknown> {
  const res = await fetch(`${sandbox?.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return res.json() as Promise<unknown>;
}

/** The model's rows as the runner sees them (compiled with the demo config's params: none). */
async function modelRows(projectDir: string, name: string, key: string): Promise<Map<string, Row>> {
  const wh = new DuckdbAdapter({ path: path.join(projectDir, 'pqlsync.duckdb') });
  await wh.connect();
  try {
    const model = await loadModel(path.join(projectDir, 'models'), name, 'duckdb');
    const { rows } = await wh.query(compileModel(model, { dialect: 'duckdb', configParams: {} }));
    return new Map(rows.map((r) => [String(r[key]), r]));
  } finally {
    await wh.close();
  }
}

const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const day = (v: unknown): string =>
  v === null || v === undefined ? '' : String(Date.parse(`${String(v)}T00:00:00Z`));

describe('pqlsync demo --crm hubspot', () => {
  it('syncs users to contacts and accounts to companies; contacts equal the model rows HubSpot accepts; a rerun makes 0 calls', async () => {
    sandbox = await startSandbox({ token: TOKEN, seed: 3 });
    dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-hubspot-demo-'));
    vi.stubEnv('PQLSYNC_SANDBOX_TOKEN', TOKEN);
    const options = { dir, users: 1500, seed: 42, crm: 'hubspot' as const, sandbox: sandbox.url, run: true };
    const first = await runDemo(options);
    // Each summary counts its own sync's requests, though both syncs share one destination; the accounts sync
    // (first: the users' routing reads its companies) only writes companies, the users sync also routes (owners,
    // task properties, the companies its tasks are linked to, and tasks).
    const log = (await admin('/_sandbox/requests')) as Array<{ path: string }>;
    const companyRead = (r: { path: string }) => r.path === '/crm/v3/objects/companies/batch/read';
    expect(first.summaries.map((s) => s.apiCalls)).toEqual([
      log.filter((r) => r.path.startsWith('/crm/') && r.path.includes('/companies') && !companyRead(r))
        .length,
      log.filter((r) => r.path.startsWith('/crm/') && (!r.path.includes('/companies') || companyRead(r)))
        .length,
    ]);
    const users = await modelRows(dir, 'pql_users', 'user_id');
    const badEmail = [...users.values()].filter((r) => r.email !== null && !EMAIL.test(String(r.email)));
    expect(first.summaries.map((s) => [s.sync, s.status, s.error?.message])).toEqual([
      ['pqa_accounts', 'success', undefined],
      ['pql_users', badEmail.length > 0 ? 'partial' : 'success', undefined],
    ]);
    const [accountRun, userRun] = first.summaries;
    expect(userRun?.counts).toMatchObject({
      added: users.size,
      applied: users.size - badEmail.length,
      rejected: badEmail.length,
    });

    const contacts = (await admin('/_sandbox/hubspot/contacts')) as {
      results: Array<{ properties: Record<string, string> }>;
    };
    const withScore = contacts.results.filter((c) => (c.properties.pql_score ?? '') !== '');
    const expected = [...users.values()]
      .filter((r) => r.email === null || EMAIL.test(String(r.email)))
      .map((r) => ({
        product_user_id: text(r.user_id),
        email: text(r.email),
        firstname: text(r.first_name),
        lastname: text(r.last_name),
        company: text(r.company_name),
        pql_score: text(r.pql_score),
        pql_tier: text(r.pql_tier),
        is_pql: text(r.is_pql),
        pql_reasons: text(r.reasons),
        pql_qualified_at: day(r.qualified_at),
      }));
    const pick = (p: Record<string, string>) =>
      Object.fromEntries(Object.keys(expected[0] ?? {}).map((k) => [k, p[k] ?? '']));
    const byId = (a: Record<string, string>, b: Record<string, string>) =>
      (a.product_user_id ?? '').localeCompare(b.product_user_id ?? '');
    expect(withScore.map((c) => pick(c.properties)).sort(byId)).toEqual(expected.sort(byId));

    const accounts = await modelRows(dir, 'pqa_accounts', 'account_id');
    expect(accountRun?.counts).toMatchObject({ added: accounts.size, applied: accounts.size, rejected: 0 });
    const companies = (await admin('/_sandbox/hubspot/companies')) as {
      results: Array<{ properties: Record<string, string> }>;
    };
    const account = [...accounts.values()][0];
    const company = companies.results.find(
      (c) => c.properties.product_account_id === text(account?.account_id),
    );
    expect(company?.properties).toMatchObject({
      name: text(account?.name),
      domain: text(account?.domain),
      pqa_score: text(account?.pqa_score),
      pqa_tier: text(account?.pqa_tier),
      is_pqa: text(account?.is_pqa),
    });
    expect(companies.results.filter((c) => (c.properties.pqa_score ?? '') !== '')).toHaveLength(
      accounts.size,
    );

    // The properties pqlsync created sit in their group.
    for (const [object, names] of [
      ['contacts', ['product_user_id', 'pql_score', 'pql_tier', 'is_pql', 'pql_reasons', 'pql_qualified_at']],
      ['companies', ['product_account_id', 'pqa_score', 'pqa_tier', 'is_pqa', 'pqa_reasons']],
    ] as const) {
      const res = await fetch(`${sandbox.url}/crm/v3/properties/${object}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const props = ((await res.json()) as { results: Array<{ name: string; groupName: string }> }).results;
      expect(names.map((n) => [n, props.find((p) => p.name === n)?.groupName])).toEqual(
        names.map((n) => [n, 'pqlsync']),
      );
    }

    const before = ((await admin('/_sandbox/requests')) as Array<{ seq: number }>).at(-1)?.seq ?? 0;
    const second = await runDemo(options);
    expect(second.summaries.map((s) => [s.sync, s.apiCalls, s.counts.added, s.counts.changed])).toEqual([
      ['pqa_accounts', 0, 0, 0],
      ['pql_users', 0, 0, 0],
    ]);
    const after = (await admin(`/_sandbox/requests?since=${before}`)) as Array<{ path: string }>;
    expect(after.filter((r) => r.path.startsWith('/crm/'))).toEqual([]);
  }, 180_000);

  it('without --sandbox starts one in process, keeps its state in the demo dir and writes .env for later runs', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-hubspot-demo-'));
    const options = { dir, users: 600, seed: 7, crm: 'hubspot' as const, run: true };
    const first = await runDemo(options);
    expect(first.summaries.map((s) => [s.sync, s.status])).toEqual([
      ['pqa_accounts', 'success'],
      ['pql_users', 'success'],
    ]);
    const env = readFileSync(path.join(dir, '.env'), 'utf8');
    expect(env).toMatch(/^PQLSYNC_SANDBOX_URL=http:\/\/127\.0\.0\.1:\d+$/m);
    const token = /^PQLSYNC_SANDBOX_TOKEN=(.+)$/m.exec(env)?.[1];
    expect(token).toMatch(/^[\w-]{20,}$/);
    const state = JSON.parse(readFileSync(path.join(dir, 'sandbox-state.json'), 'utf8')) as unknown;
    expect(JSON.stringify(state)).toContain('"product_user_id"');

    // A new sandbox from the same state file: nothing changed, so nothing is sent.
    const second = await runDemo(options);
    expect(second.summaries.map((s) => [s.sync, s.apiCalls, s.counts.added])).toEqual([
      ['pqa_accounts', 0, 0],
      ['pql_users', 0, 0],
    ]);
    expect(/^PQLSYNC_SANDBOX_TOKEN=(.+)$/m.exec(readFileSync(path.join(dir, '.env'), 'utf8'))?.[1]).toBe(
      token,
    );
  }, 180_000);
});
