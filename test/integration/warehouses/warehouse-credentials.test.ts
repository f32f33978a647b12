/**
 * Warehouse credentials beyond a password (issue 18): BigQuery through Application Default Credentials without a
 * key file (here the metadata server, as on GKE Workload Identity or Cloud Run), Snowflake with a private key given
 * as PEM text or an OAuth access token, both from env vars, and Snowflake's required `schema`. The sandboxes are
 * driven by the unmodified client libraries; secrets never reach an error.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { runSyncs } from '../../../src/runner/run-syncs.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { BigquerySandbox } from '../../../src/warehouse/bigquery/sandbox/bigquery-sandbox.js';
import { createWarehouse } from '../../../src/warehouse/create-warehouse.js';
import { SnowflakeSandbox } from '../../../src/warehouse/snowflake/sandbox/snowflake-sandbox.js';
import type { WarehouseAdapter } from '../../../src/warehouse/warehouse-adapter.js';
import { seedUsers } from '../../conformance/warehouses.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
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

/** Sets env vars for the duration of `fn` and restores them after, whatever happens. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(vars);
  try {
    return await fn();
  } finally {
    set(saved);
  }
}

describe('bigquery with Application Default Credentials (metadata server)', () => {
  let sandbox: BigquerySandbox;
  let gcloudDir: string;
  beforeEach(async () => {
    sandbox = new BigquerySandbox({ token: 'adc-token-31', metadataServer: true });
    await sandbox.start();
    gcloudDir = mkdtempSync(path.join(tmpdir(), 'pqlsync-gcloud-'));
    p.writeConfig(
      `warehouse: { type: bigquery, project: acme-analytics, location: US, api_endpoint: '${sandbox.url}' }\n${SYNCS}`,
    );
  });
  afterEach(async () => {
    await sandbox.stop();
    rmSync(gcloudDir, { recursive: true, force: true });
  });

  // No key file, no GOOGLE_APPLICATION_CREDENTIALS, no gcloud login (an empty CLOUDSDK_CONFIG), no ready token:
  // the client library finds the metadata server and takes its token.
  const adc = () => ({
    GOOGLE_APPLICATION_CREDENTIALS: undefined,
    PQLSYNC_BIGQUERY_ACCESS_TOKEN: undefined,
    CLOUDSDK_CONFIG: gcloudDir,
    GCE_METADATA_HOST: new URL(sandbox.url).host,
  });

  it('a config without key_file validates, and the adapter authenticates through ADC and runs a sync', async () => {
    await withEnv(adc(), async () => {
      const loaded = loadConfig(p.configPath);
      expect(loaded.config.warehouse).not.toHaveProperty('key_file');
      const wh = await createWarehouse(loaded);
      await wh.connect();
      await seed(wh);
      await wh.close();
      const s = await runFromConfig({});
      expect(s.error).toBeUndefined();
      expect(s.counts).toMatchObject({ added: 2, applied: 2 });
    });
    const tokenRequests = sandbox.requests.filter((r) => r.path.endsWith('/service-accounts/default/token'));
    expect(tokenRequests.length).toBeGreaterThan(0);
  });

  it('says where ADC looks when it finds no credentials', async () => {
    // No metadata server either: METADATA_SERVER_DETECTION=none is the client library's own switch.
    await withEnv({ ...adc(), GCE_METADATA_HOST: undefined, METADATA_SERVER_DETECTION: 'none' }, async () => {
      const wh = await createWarehouse(loadConfig(p.configPath));
      const err = (await wh.connect().catch((e: unknown) => e)) as PqlsyncError;
      expect(err).toBeInstanceOf(PqlsyncError);
      expect(err.code).toBe('WAREHOUSE_CONNECT_FAILED');
      expect(err.format()).toMatch(
        /^cannot reach BigQuery project acme-analytics: Could not load the default credentials\..*\n {2}hint: without warehouse\.key_file pqlsync uses Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS \(a key file\), `gcloud auth application-default login`, or the metadata server \(GKE Workload Identity, Cloud Run, Compute Engine\)$/s,
      );
    });
  });
});

describe('snowflake: private key as PEM text, OAuth token, required schema', () => {
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'inline-pass-4' },
  });
  let sandbox: SnowflakeSandbox;
  beforeEach(async () => {
    sandbox = new SnowflakeSandbox({
      username: 'PQLSYNC_SVC',
      publicKeyPem: keys.publicKey,
      oauthToken: 'oauth-access-token-77',
    });
    await sandbox.start();
  });
  afterEach(async () => {
    await sandbox.stop();
  });

  const config = (credentials: string, schema = 'schema: PUBLIC\n  ') => `warehouse:
  type: snowflake
  account: acme-xy12345
  username: PQLSYNC_SVC
  database: ANALYTICS
  ${schema}${credentials}
  access_url: '${sandbox.url}'
${SYNCS}`;

  const seedAndRun = async (env: NodeJS.ProcessEnv) => {
    const wh = await createWarehouse(loadConfig(p.configPath, { ...process.env, ...env }));
    await wh.connect();
    await seed(wh);
    await wh.close();
    return runFromConfig(env);
  };

  it('logs in with the private key given as PEM text in an env var (no file)', async () => {
    p.writeConfig(config('private_key: ${SF_PRIVATE_KEY}\n  private_key_passphrase: ${SF_KEY_PASS}'));
    const s = await seedAndRun({ SF_PRIVATE_KEY: keys.privateKey, SF_KEY_PASS: 'inline-pass-4' });
    expect(s.error).toBeUndefined();
    expect(s.counts).toMatchObject({ added: 2, applied: 2 });
    const logins = sandbox.requests.filter((r) => r.path === '/session/v1/login-request');
    expect(logins.length).toBeGreaterThan(0);
    expect(logins.every((r) => r.success)).toBe(true);
  });

  it('takes a PEM kept on one line, its line breaks written as \\n (as CI secrets often hold it)', async () => {
    p.writeConfig(config('private_key: ${SF_PRIVATE_KEY}\n  private_key_passphrase: ${SF_KEY_PASS}'));
    const oneLine = keys.privateKey.trimEnd().replace(/\n/g, '\\n');
    expect(oneLine).not.toContain('\n');
    const s = await seedAndRun({ SF_PRIVATE_KEY: oneLine, SF_KEY_PASS: 'inline-pass-4' });
    expect(s.error).toBeUndefined();
    expect(s.counts).toMatchObject({ added: 2, applied: 2 });
  });

  it('logs in with an OAuth access token (authenticator: OAUTH) and never repeats a refused one', async () => {
    p.writeConfig(config('authenticator: OAUTH\n  token: ${SF_OAUTH_TOKEN}'));
    const s = await seedAndRun({ SF_OAUTH_TOKEN: 'oauth-access-token-77' });
    expect(s.error).toBeUndefined();
    expect(s.counts).toMatchObject({ added: 2, applied: 2 });

    const wrong = 'expired-oauth-token-12';
    const wh = await createWarehouse(loadConfig(p.configPath, { ...process.env, SF_OAUTH_TOKEN: wrong }));
    const err = (await wh.connect().catch((e: unknown) => e)) as PqlsyncError;
    expect(err.code).toBe('WAREHOUSE_CONNECT_FAILED');
    expect(err.format()).toBe(
      'cannot log in to Snowflake account acme-xy12345 as PQLSYNC_SVC: Incorrect username or password was specified.\n' +
        '  hint: check that the OAuth access token in warehouse.token has not expired and was issued for this account and user',
    );
    expect(JSON.stringify(err.details ?? {}) + err.format()).not.toContain(wrong);
  });

  it('refuses a config without schema, or with two credentials, naming the file and field (and the line of a field given)', () => {
    p.writeConfig(config('password: ${SF_PW}\n  private_key: ${SF_PRIVATE_KEY}', ''));
    const err = (() => {
      try {
        loadConfig(p.configPath, { ...process.env, SF_PW: 'pw-1', SF_PRIVATE_KEY: 'pem' });
      } catch (e) {
        return e;
      }
    })() as PqlsyncError;
    expect(err).toBeInstanceOf(PqlsyncError);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(
      `2 problems in ${p.configPath}:\n` +
        `  ${p.configPath}: warehouse.schema: is required: pqlsync creates its temporary tables (plan, evaluate) in this schema, and Snowflake refuses unqualified ones in a session without a current schema (e.g. schema: PUBLIC)\n` +
        `  ${p.configPath}:7: warehouse.private_key: give only one of password, private_key`,
    );
  });

  it('plan creates its temporary tables in the configured schema', async () => {
    p.writeConfig(config('authenticator: OAUTH\n  token: ${SF_OAUTH_TOKEN}'));
    const env = { SF_OAUTH_TOKEN: 'oauth-access-token-77' };
    const wh = await createWarehouse(loadConfig(p.configPath, { ...process.env, ...env }));
    await wh.connect();
    await seed(wh);
    await wh.close();
    const plan = await runFromConfig(env, true);
    expect(plan.error).toBeUndefined();
    expect(plan).toMatchObject({ status: 'planned', counts: { added: 2 } });
    const temps = sandbox.statements().filter((q) => /^create or replace temporary table/.test(q));
    expect(temps.map((q) => /^create or replace temporary table (\S+)/.exec(q)![1])).toEqual([
      '"PUBLIC"."PQLSYNC_PLAN_USERS__CURRENT"',
      '"PUBLIC"."PQLSYNC_PLAN_USERS__DUPS"',
      '"PUBLIC"."PQLSYNC_PLAN_USERS__PLAN"',
    ]);
  });
});

describe('bigquery location', () => {
  it('creates the state dataset and runs every job in the configured location (BigQuery defaults to US)', async () => {
    const sandbox = new BigquerySandbox({ token: 'loc-token' });
    await sandbox.start();
    try {
      const run = async (location: string) => {
        p.writeConfig(
          `warehouse: { type: bigquery, project: acme-analytics, ${location}api_endpoint: '${sandbox.url}' }\n${SYNCS}`,
        );
        const env = { PQLSYNC_BIGQUERY_ACCESS_TOKEN: 'loc-token' };
        const s = await withEnv(env, () => runFromConfig({}));
        expect(s.error).toBeUndefined();
        const located = sandbox.requests.splice(0).filter((r) => r.location !== undefined);
        expect(located.some((r) => r.path.endsWith('/datasets'))).toBe(true);
        expect(located.some((r) => r.path.endsWith('/jobs'))).toBe(true);
        return [...new Set(located.map((r) => r.location))];
      };
      const wh = await withEnv({ PQLSYNC_BIGQUERY_ACCESS_TOKEN: 'loc-token' }, async () => {
        p.writeConfig(
          `warehouse: { type: bigquery, project: acme-analytics, api_endpoint: '${sandbox.url}' }\n`,
        );
        const w = await createWarehouse(loadConfig(p.configPath));
        await w.connect();
        return w;
      });
      await seed(wh);
      await wh.close();
      sandbox.requests.splice(0);
      expect(await run('location: europe-west3, ')).toEqual(['europe-west3']);
      await withEnv({ PQLSYNC_BIGQUERY_ACCESS_TOKEN: 'loc-token' }, async () => {
        const w = await createWarehouse(loadConfig(p.configPath));
        await w.connect();
        await w.query('drop schema pqlsync_state cascade');
        await w.close();
      });
      sandbox.requests.splice(0);
      expect(await run('')).toEqual(['US']);
    } finally {
      await sandbox.stop();
    }
  });
});
