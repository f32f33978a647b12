/**
 * Each warehouse built from a project config (credentials from env vars), the way `pqlsync run` builds it, plus
 * the errors a person sees when the connection is wrong. Postgres is a real server; BigQuery and Snowflake are
 * the local sandboxes driven by the real client libraries.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { runSyncs } from '../../../src/runner/run-syncs.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { BigquerySandbox } from '../../../src/warehouse/bigquery/sandbox/bigquery-sandbox.js';
import { createWarehouse } from '../../../src/warehouse/create-warehouse.js';
import { PostgresAdapter } from '../../../src/warehouse/postgres/postgres-adapter.js';
import { SnowflakeSandbox } from '../../../src/warehouse/snowflake/sandbox/snowflake-sandbox.js';
import type { WarehouseAdapter } from '../../../src/warehouse/warehouse-adapter.js';
import { seedUsers } from '../../conformance/warehouses.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

const MODEL = `/*---
name: scores
key: user_id
---*/
select user_id, email, score from src.users
`;

const SYNCS = `
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c }
    fields: { Email: email, Score__c: score }
`;

const seed = (wh: WarehouseAdapter) =>
  seedUsers(wh, [
    [1, 'a@example.com', 10],
    [2, 'b@example.com', 20],
    [3, 'c@example.com', 30],
  ]);

let p: TempProject;
beforeEach(() => {
  p = tempProject();
  p.writeModel('scores', MODEL);
});
afterEach(() => p.cleanup());

async function runFromConfig(env: NodeJS.ProcessEnv, dryRun = false) {
  const loaded = loadConfig(p.configPath, { ...process.env, ...env });
  const dest = new MemoryDestination();
  const [s] = await runSyncs({ loaded, syncs: ['users'], destination: async () => dest, dryRun });
  return s!;
}

describe('postgres from config', () => {
  let server: TestPostgres;
  let url: string;
  beforeAll(async () => {
    server = await startTestPostgres();
    url = await server.createDatabase(`wh_config_${process.pid}`);
    const wh = new PostgresAdapter({ url });
    await wh.connect();
    await seed(wh);
    await wh.close();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('runs a sync with the URL from an env var, then plans nothing left to do', async () => {
    p.writeConfig(`warehouse: { type: postgres, url: '\${PG_URL}' }\n${SYNCS}`);
    const s = await runFromConfig({ PG_URL: url });
    expect(s.status).toBe('success');
    expect(s.counts).toMatchObject({ added: 3, applied: 3 });
    const plan = await runFromConfig({ PG_URL: url }, true);
    expect(plan.counts).toMatchObject({ added: 0, changed: 0, removed: 0 });
    expect(plan.plan?.estimatedBytes).toBeUndefined();
  });

  it('names host, port and database when it cannot connect, and never the password', async () => {
    const wh = new PostgresAdapter({
      host: '127.0.0.1',
      port: 1,
      database: 'analytics',
      user: 'u',
      password: 's3cret-pw',
    });
    const err = (await wh.connect().catch((e: unknown) => e)) as PqlsyncError;
    expect(err).toBeInstanceOf(PqlsyncError);
    expect(err.code).toBe('WAREHOUSE_CONNECT_FAILED');
    expect(err.format()).toBe(
      'cannot connect to Postgres at 127.0.0.1:1/analytics: connect ECONNREFUSED 127.0.0.1:1\n' +
        '  hint: check warehouse.url (or host, port, database, user) and that the password env var is set',
    );
  });

  it('reports a wrong password without repeating it', async () => {
    const u = new URL(url);
    u.password = 'wrong-pw-123';
    const wh = new PostgresAdapter({ url: u.toString() });
    const err = (await wh.connect().catch((e: unknown) => e)) as PqlsyncError;
    expect(err.message).toBe(
      `cannot connect to Postgres at 127.0.0.1:${u.port}/wh_config_${process.pid}: password authentication failed for user "postgres"`,
    );
    expect(JSON.stringify(err.details ?? {}) + err.format()).not.toContain('wrong-pw-123');
  });

  it('reports a failing model with the file and the server message', async () => {
    p.writeConfig(`warehouse: { type: postgres, url: '\${PG_URL}' }\n${SYNCS}`);
    p.writeModel('scores', MODEL.replace('from src.users', 'from src.nope'));
    const s = await runFromConfig({ PG_URL: url });
    expect(s.error?.code).toBe('WAREHOUSE_QUERY_FAILED');
    expect(s.error?.message).toBe(
      `${path.join(p.dir, 'models', 'scores.sql')} (sync users): the model failed in the warehouse: Postgres: relation "src.nope" does not exist\n` +
        '  hint: run `pqlsync compile <model>` to see the SQL that was sent',
    );
  });
});

describe('bigquery from config (local sandbox)', () => {
  let sandbox: BigquerySandbox;
  const saved = process.env.PQLSYNC_BIGQUERY_ACCESS_TOKEN;
  beforeEach(async () => {
    sandbox = new BigquerySandbox({ token: 'bq-test-token' });
    await sandbox.start();
    process.env.PQLSYNC_BIGQUERY_ACCESS_TOKEN = 'bq-test-token';
    p.writeConfig(
      `warehouse: { type: bigquery, project: acme-analytics, location: US, api_endpoint: '${sandbox.url}' }\n${SYNCS}`,
    );
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.PQLSYNC_BIGQUERY_ACCESS_TOKEN;
    else process.env.PQLSYNC_BIGQUERY_ACCESS_TOKEN = saved;
    await sandbox.stop();
  });

  it('plan shows the bytes a dry run of the model would process, and runs nothing', async () => {
    const wh = await createWarehouse(loadConfig(p.configPath));
    await wh.connect();
    await seed(wh);
    await wh.close();
    const plan = await runFromConfig({}, true);
    expect(plan.status).toBe('planned');
    expect(plan.counts.added).toBe(3);
    const dry = sandbox.requests.filter((r) => r.dryRun);
    expect(dry.map((r) => r.query?.trim())).toEqual(['select user_id, email, score from src.users']);
    // The sandbox's estimate by BigQuery's data sizes: 3 rows x (INT64 8 + STRING 2 + 13 bytes + INT64 8).
    expect(plan.plan?.estimatedBytes).toBe(93);
    const s = await runFromConfig({});
    expect(s.counts).toMatchObject({ added: 3, applied: 3 });
  });

  it('sends the bearer token and fails clearly without the right one', async () => {
    process.env.PQLSYNC_BIGQUERY_ACCESS_TOKEN = 'wrong-token';
    const wh = await createWarehouse(loadConfig(p.configPath));
    const err = (await wh.connect().catch((e: unknown) => e)) as PqlsyncError;
    expect(err.code).toBe('WAREHOUSE_CONNECT_FAILED');
    expect(err.format()).toBe(
      'cannot reach BigQuery project acme-analytics: Request is missing required authentication credential.\n' +
        '  hint: without warehouse.key_file pqlsync uses Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS (a key file), `gcloud auth application-default login`, or the metadata server (GKE Workload Identity, Cloud Run, Compute Engine)',
    );
  });
});

describe('snowflake from config (local sandbox)', () => {
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'key-pass-9' },
  });
  let sandbox: SnowflakeSandbox;
  beforeEach(async () => {
    sandbox = new SnowflakeSandbox({ username: 'PQLSYNC_SVC', publicKeyPem: keys.publicKey });
    await sandbox.start();
    writeFileSync(path.join(p.dir, 'rsa_key.p8'), keys.privateKey);
    p.writeConfig(
      `warehouse:
  type: snowflake
  account: acme-xy12345
  username: PQLSYNC_SVC
  database: ANALYTICS
  schema: PUBLIC
  warehouse: PQLSYNC_WH
  private_key_path: \${SF_KEY_PATH}
  private_key_passphrase: \${SF_KEY_PASS}
  access_url: '${sandbox.url}'
${SYNCS}`,
    );
  });
  afterEach(async () => {
    await sandbox.stop();
  });

  it('logs in with a key pair (encrypted private key) and runs a sync', async () => {
    const env = { SF_KEY_PATH: path.join(p.dir, 'rsa_key.p8'), SF_KEY_PASS: 'key-pass-9' };
    const wh = await createWarehouse(loadConfig(p.configPath, { ...process.env, ...env }));
    await wh.connect();
    await seed(wh);
    await wh.close();
    const s = await runFromConfig(env);
    expect(s.status).toBe('success');
    expect(s.counts).toMatchObject({ added: 3, applied: 3 });
    expect(sandbox.statements().some((q) => q.startsWith('insert into identifier(:1)'))).toBe(true);
  });

  it('refuses a key that does not match the user, with a hint', async () => {
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'other-pass' },
    });
    const keyPath = path.join(p.dir, 'other.p8');
    writeFileSync(keyPath, other.privateKey);
    const wh = await createWarehouse(
      loadConfig(p.configPath, { ...process.env, SF_KEY_PATH: keyPath, SF_KEY_PASS: 'other-pass' }),
    );
    const err = (await wh.connect().catch((e: unknown) => e)) as PqlsyncError;
    expect(err.code).toBe('WAREHOUSE_CONNECT_FAILED');
    expect(err.format()).toBe(
      'cannot log in to Snowflake account acme-xy12345 as PQLSYNC_SVC: Incorrect username or password was specified.\n' +
        '  hint: check that warehouse.private_key_path is the private key whose public key is set on user PQLSYNC_SVC (ALTER USER ... SET RSA_PUBLIC_KEY)',
    );
  });
});
