/**
 * Redshift IAM login: the unmodified `@aws-sdk/client-redshift` (AWS credentials from the environment, its endpoint
 * from AWS_ENDPOINT_URL_REDSHIFT) asks the local Redshift API sandbox for temporary credentials, and the real
 * Postgres standing in for the cluster accepts them (the sandbox set that password on that role). The password and
 * the AWS secret key never reach output, logs or errors; the SDK loads only for this login.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { scrubSecrets } from '../../../src/errors/secrets.js';
import { createWarehouse, redshiftIam } from '../../../src/warehouse/create-warehouse.js';
import { PostgresAdapter } from '../../../src/warehouse/postgres/postgres-adapter.js';
import { RedshiftIamCredentials } from '../../../src/warehouse/postgres/redshift-iam.js';
import { RedshiftCredentialsSandbox } from '../../../src/warehouse/postgres/sandbox/redshift-credentials-sandbox.js';
import { runCli } from '../../helpers/cli.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

const HOOK = fileURLToPath(new URL('../../helpers/loaded-packages-hook.mjs', import.meta.url));
const SECRET_KEY = 'sbx/Secret+Key-4f1e9a7c2b0d';
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIASANDBOX000000001',
  AWS_SECRET_ACCESS_KEY: SECRET_KEY,
};

let server: TestPostgres;
let sandbox: RedshiftCredentialsSandbox;
let db: string;
let port: string;
let p: TempProject;
const saved: Record<string, string | undefined> = {};

const config = (iam: string, extra = '') => `
warehouse:
  type: redshift
  host: 127.0.0.1
  port: ${port}
  database: ${db}
  iam: ${iam}
${extra}destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: user_id }
    fields: { Email: email }
`;

beforeAll(async () => {
  server = await startTestPostgres();
  db = `rs_iam_${process.pid}`;
  const url = await server.createDatabase(db);
  port = new URL(url).port;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  // Redshift's functions the Redshift SQL uses, and what a database user of the cluster may do.
  await admin.query(`create function getdate() returns timestamptz language sql stable as 'select now()'`);
  await admin.query(
    `create function nvl(anycompatible, anycompatible) returns anycompatible language sql immutable as 'select coalesce($1, $2)'`,
  );
  await admin.query(`grant create on database ${pg.escapeIdentifier(db)} to public`);
  await admin.query('create schema src');
  await admin.query('create table src.users (user_id integer, email varchar(100))');
  await admin.query(
    `insert into src.users values (1, 'a@example.com'), (2, 'b@example.com'), (3, 'c@example.com')`,
  );
  await admin.query('grant usage on schema src to public');
  await admin.query('grant select on all tables in schema src to public');
  // Roles are the server's, not the database's: a shared server (PQLSYNC_TEST_POSTGRES_URL) may have it already.
  await admin.query(
    `do $$ begin create role "IAM:pqlsync"; exception when duplicate_object then null; end $$`,
  );
  await admin.end();
  sandbox = new RedshiftCredentialsSandbox({
    adminUrl: server.adminUrl,
    clusters: { analytics: { region: 'eu-west-1' } },
    workgroups: { reporting: { region: 'eu-west-1' } },
    accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID,
    iamUserName: 'pqlsync-runner',
  });
  await sandbox.start();
  for (const k of [
    ...Object.keys(AWS_ENV),
    'AWS_ENDPOINT_URL_REDSHIFT',
    'AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS',
    'AWS_REGION',
    'AWS_PROFILE',
  ])
    saved[k] = process.env[k];
  Object.assign(process.env, AWS_ENV, {
    AWS_ENDPOINT_URL_REDSHIFT: sandbox.url,
    AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS: sandbox.url,
  });
  delete process.env.AWS_REGION;
  delete process.env.AWS_PROFILE;
  p = tempProject();
  p.writeModel('scores', `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, email from src.users\n`);
}, 120_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  p.cleanup();
  await sandbox.stop();
  await server.stop();
});

beforeEach(() => {
  sandbox.calls.length = 0;
});

/** The answered passwords so far (they must appear nowhere). */
const passwords = () => sandbox.calls.flatMap((c) => (c.password ? [c.password] : []));

async function packagesAndRun(configText: string, env: NodeJS.ProcessEnv) {
  p.writeConfig(configText);
  const log = path.join(p.dir, 'packages.log');
  const result = await runCli(['run', 'users', '--config', p.configPath, '--json'], {
    env: {
      ...env,
      PQLSYNC_LOG_LEVEL: 'debug',
      NODE_OPTIONS: `--import ${HOOK}`,
      PQLSYNC_TEST_PACKAGE_LOG: log,
    },
  });
  const packages = new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean));
  rmSync(log);
  return { result, packages };
}

describe('Redshift IAM login', () => {
  it('`pqlsync run` logs in with GetClusterCredentials; no password or secret key in its output', async () => {
    const { result, packages } = await packagesAndRun(
      config('{ cluster_id: analytics, region: eu-west-1, db_user: pqlsync, duration_seconds: 1200 }'),
      { ...AWS_ENV, AWS_ENDPOINT_URL_REDSHIFT: sandbox.url },
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'success', counts: { added: 3, applied: 3 } });
    expect(result.code).toBe(0);
    expect(sandbox.calls.map((c) => c.params)).toEqual([
      {
        Action: 'GetClusterCredentials',
        Version: '2012-12-01',
        ClusterIdentifier: 'analytics',
        DbName: db,
        DbUser: 'pqlsync',
        DurationSeconds: '1200',
      },
    ]);
    expect(packages).toContain('@aws-sdk/client-redshift');
    const output = result.stdout + result.stderr;
    expect(output).toContain('"level"'); // the debug log was written
    for (const secret of [...passwords(), SECRET_KEY]) expect(output).not.toContain(secret);
  }, 120_000);

  it('a Redshift warehouse with a password never loads the AWS SDK', async () => {
    const admin = new URL(server.adminUrl);
    const { result, packages } = await packagesAndRun(
      config('null').replace('  iam: null\n', `  user: ${admin.username}\n  password: "\${RS_PASSWORD}"\n`),
      { RS_PASSWORD: decodeURIComponent(admin.password) },
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'success' });
    expect(result.code).toBe(0);
    expect(packages).toContain('pg');
    expect(packages).not.toContain('@aws-sdk/client-redshift');
    expect(sandbox.calls).toEqual([]);
  }, 120_000);

  it('auto_create: a user that does not exist yet is created at login', async () => {
    p.writeConfig(
      config('{ cluster_id: analytics, region: eu-west-1, db_user: newcomer, auto_create: true }'),
    );
    const wh = await createWarehouse(loadConfig(p.configPath));
    await wh.connect();
    try {
      expect((await wh.query('select current_user as u')).rows).toEqual([{ u: 'IAM:newcomer' }]);
      expect(sandbox.calls.map((c) => c.params.AutoCreate)).toEqual(['true']);
      // The answered password is a registered secret: masked wherever a message might carry it.
      expect(scrubSecrets(`login with ${passwords()[0]!}`)).toBe('login with [redacted]');
    } finally {
      await wh.close();
    }
  });

  it('identity: iam logs in with GetClusterCredentialsWithIAM as the IAM identity', async () => {
    p.writeConfig(config('{ cluster_id: analytics, region: eu-west-1, identity: iam }'));
    const wh = await createWarehouse(loadConfig(p.configPath));
    await wh.connect();
    try {
      expect((await wh.query('select current_user as u')).rows).toEqual([{ u: 'IAM:pqlsync-runner' }]);
      expect(sandbox.calls.map((c) => c.params)).toEqual([
        {
          Action: 'GetClusterCredentialsWithIAM',
          Version: '2012-12-01',
          ClusterIdentifier: 'analytics',
          DbName: db,
        },
      ]);
    } finally {
      await wh.close();
    }
  });

  it('asks for a new password when a connection opens near the expiry, not before', async () => {
    let clock = new Date('2026-01-05T10:00:00.000Z').getTime();
    const sbx = new RedshiftCredentialsSandbox({
      adminUrl: server.adminUrl,
      clusters: { analytics: { region: 'eu-west-1' } },
      accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID,
      now: () => new Date(clock),
    });
    const endpoint = await sbx.start();
    process.env.AWS_ENDPOINT_URL_REDSHIFT = endpoint;
    const wh = new PostgresAdapter({
      dialect: 'redshift',
      host: '127.0.0.1',
      port: Number(port),
      database: db,
      iam: { clusterId: 'analytics', region: 'eu-west-1', dbUser: 'pqlsync', now: () => new Date(clock) },
    });
    try {
      await wh.connect();
      const rowsOf = async () => {
        const out: unknown[] = [];
        for await (const chunk of wh.stream('select 1 as one')) out.push(...chunk);
        return out;
      };
      // A second connection 13 minutes in: the password from the login is still good for 2 more.
      clock += 13 * 60_000;
      expect(await rowsOf()).toEqual([{ one: 1 }]);
      expect(sbx.calls.length).toBe(1);
      // 14.5 minutes in, a third connection (the stream holds one, the transaction opens another): a new password,
      // the only one the server now accepts.
      clock += 90_000;
      const users: unknown[] = [];
      for await (const chunk of wh.stream('select 1 as one')) {
        users.push(...chunk, ...(await wh.transaction((tx) => tx.query('select current_user as u'))).rows);
      }
      expect(users).toEqual([{ one: 1 }, { u: 'IAM:pqlsync' }]);
      expect(sbx.calls.length).toBe(2);
    } finally {
      await wh.close();
      await sbx.stop();
      process.env.AWS_ENDPOINT_URL_REDSHIFT = sandbox.url;
    }
  });

  it('a refused login names the user, never the password or the secret key', async () => {
    p.writeConfig(config('{ cluster_id: analytics, region: eu-west-1, db_user: nobody }'));
    const wh = await createWarehouse(loadConfig(p.configPath));
    const err = (await wh.connect().catch((e: unknown) => e)) as PqlsyncError;
    expect(err).toBeInstanceOf(PqlsyncError);
    expect(err.format()).toBe(
      `cannot connect to Redshift at 127.0.0.1:${port}/${db}: password authentication failed for user "IAM:nobody"\n` +
        "  hint: check warehouse.host, port and database, and that the IAM credentials' user exists (or set warehouse.iam.auto_create: true)",
    );
    const everything = err.format() + JSON.stringify(err.details ?? {});
    expect(passwords()).toHaveLength(1);
    for (const secret of [...passwords(), SECRET_KEY]) expect(everything).not.toContain(secret);
  });

  it('an unknown cluster: the API error, with the fields to check', async () => {
    p.writeConfig(config('{ cluster_id: nope, region: eu-west-1, db_user: pqlsync }'));
    const wh = await createWarehouse(loadConfig(p.configPath));
    const err = (await wh.connect().catch((e: unknown) => e)) as PqlsyncError;
    expect([err.code, err.format()]).toEqual([
      'WAREHOUSE_CONNECT_FAILED',
      'cannot get Redshift credentials (GetClusterCredentials, cluster nope in eu-west-1): ClusterNotFoundFault: Cluster nope not found.\n' +
        '  hint: check warehouse.iam.cluster_id and warehouse.iam.region (the cluster identifier, not its endpoint)',
    ]);
    expect(err.format()).not.toContain(SECRET_KEY);
  });
});

describe('Redshift Serverless IAM login', () => {
  it('`pqlsync run` logs in with GetCredentials for the workgroup; no password or secret key in its output', async () => {
    const { result, packages } = await packagesAndRun(
      // Its own state schema: the provisioned run's belongs to another database user.
      config(
        '{ workgroup: reporting, region: eu-west-1, duration_seconds: 1800 }',
        'state: { schema: serverless_state }\n',
      ),
      { ...AWS_ENV, AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS: sandbox.url },
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'success', counts: { added: 3, applied: 3 } });
    expect(result.code).toBe(0);
    expect(sandbox.calls.map((c) => [c.action, c.params])).toEqual([
      [
        'RedshiftServerless.GetCredentials',
        { workgroupName: 'reporting', dbName: db, durationSeconds: '1800' },
      ],
    ]);
    expect(packages).toContain('@aws-sdk/client-redshift-serverless');
    expect(packages).not.toContain('@aws-sdk/client-redshift');
    const output = result.stdout + result.stderr;
    for (const secret of [...passwords(), SECRET_KEY]) expect(output).not.toContain(secret);
  }, 120_000);

  it('logs in as the IAM identity, the password a registered secret', async () => {
    p.writeConfig(config('{ workgroup: reporting, region: eu-west-1 }'));
    const wh = await createWarehouse(loadConfig(p.configPath));
    await wh.connect();
    try {
      expect((await wh.query('select current_user as u')).rows).toEqual([{ u: 'IAM:pqlsync-runner' }]);
      expect(scrubSecrets(`login with ${passwords()[0]!}`)).toBe('login with [redacted]');
    } finally {
      await wh.close();
    }
  });

  it('asks GetCredentials again only within a minute of the expiry', async () => {
    let clock = new Date('2026-01-05T10:00:00.000Z').getTime();
    const sbx = new RedshiftCredentialsSandbox({
      adminUrl: server.adminUrl,
      clusters: {},
      workgroups: { reporting: { region: 'eu-west-1' } },
      accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID,
      now: () => new Date(clock),
    });
    process.env.AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS = await sbx.start();
    const creds = new RedshiftIamCredentials({
      workgroup: 'reporting',
      region: 'eu-west-1',
      dbName: db,
      now: () => new Date(clock),
    });
    try {
      const first = await creds.get();
      expect(first.expiresAt).toEqual(new Date(clock + 900_000));
      clock += 13 * 60_000;
      expect((await creds.get()).password).toBe(first.password);
      clock += 90_000;
      expect((await creds.get()).password).not.toBe(first.password);
      expect(sbx.calls.map((c) => c.action)).toEqual([
        'RedshiftServerless.GetCredentials',
        'RedshiftServerless.GetCredentials',
      ]);
    } finally {
      await sbx.stop();
      process.env.AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS = sandbox.url;
    }
  });

  it('an unknown workgroup: the API error, with the fields to check', async () => {
    p.writeConfig(config('{ workgroup: nope, region: eu-west-1 }'));
    const wh = await createWarehouse(loadConfig(p.configPath));
    const err = (await wh.connect().catch((e: unknown) => e)) as PqlsyncError;
    expect([err.code, err.format()]).toEqual([
      'WAREHOUSE_CONNECT_FAILED',
      'cannot get Redshift credentials (GetCredentials, workgroup nope in eu-west-1): ResourceNotFoundException: Workgroup nope not found.\n' +
        '  hint: check warehouse.iam.workgroup and warehouse.iam.region (the workgroup name, not its endpoint)',
    ]);
    expect(err.format()).not.toContain(SECRET_KEY);
  });
});

describe('Redshift IAM config', () => {
  const refusal = (text: string) => {
    p.writeConfig(text);
    try {
      loadConfig(p.configPath);
    } catch (e) {
      return (e as PqlsyncError).message;
    }
    throw new Error('the config was accepted');
  };

  it('names cluster_id and region when the host cannot give them, and db_user when no user is given', () => {
    expect(refusal(config('{ duration_seconds: 900 }'))).toBe(
      `3 problems in ${p.configPath}:\n` +
        `  ${p.configPath}:7: warehouse.iam.cluster_id: is required when host is not a Redshift endpoint (<cluster>.<id>.<region>.redshift.amazonaws.com): the cluster identifier (or warehouse.iam.workgroup for Redshift Serverless)\n` +
        `  ${p.configPath}:7: warehouse.iam.region: is required when host is not a Redshift endpoint (<cluster>.<id>.<region>.redshift.amazonaws.com): e.g. us-east-1\n` +
        `  ${p.configPath}:7: warehouse.iam.db_user: is required (or warehouse.user): the database user the temporary password is for`,
    );
  });

  it('refuses iam on Postgres, and a password beside it', () => {
    expect(
      refusal(
        config('{ cluster_id: a, region: eu-west-1, db_user: u }').replace(
          'type: redshift',
          'type: postgres',
        ),
      ),
    ).toBe(`1 problem in ${p.configPath}:\n  ${p.configPath}:7: warehouse.iam: is for type: redshift only`);
    expect(refusal(config('{ cluster_id: a, region: eu-west-1, db_user: u }', '  password: pw\n'))).toBe(
      `1 problem in ${p.configPath}:\n  ${p.configPath}:8: warehouse.password: give either password or iam, not both`,
    );
  });

  it('Serverless: names region when the host cannot give it, and refuses db_user and cluster_id beside workgroup', () => {
    expect(refusal(config('{ workgroup: reporting, db_user: u, cluster_id: c }'))).toBe(
      `3 problems in ${p.configPath}:\n` +
        `  ${p.configPath}:7: warehouse.iam.workgroup: give either cluster_id or workgroup, not both\n` +
        `  ${p.configPath}:7: warehouse.iam.region: is required when host is not a Redshift Serverless endpoint (<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com): e.g. us-east-1\n` +
        `  ${p.configPath}:7: warehouse.iam.db_user: is for provisioned clusters only: Serverless logs in as the IAM identity`,
    );
  });

  it('reads workgroup and region from a Serverless endpoint host', () => {
    p.writeConfig(
      config('{ duration_seconds: 900 }').replace(
        'host: 127.0.0.1',
        'host: reporting.123456789012.eu-central-1.redshift-serverless.amazonaws.com',
      ),
    );
    const wh = loadConfig(p.configPath).config.warehouse;
    expect(wh?.type === 'redshift' && redshiftIam(wh)).toEqual({
      workgroup: 'reporting',
      region: 'eu-central-1',
      dbName: db,
      durationSeconds: 900,
    });
  });

  it('reads cluster and region from a Redshift endpoint host, the user from warehouse.user', () => {
    p.writeConfig(
      config('{ duration_seconds: 3600 }')
        .replace('host: 127.0.0.1', 'host: analytics.abc123xyz.us-east-1.redshift.amazonaws.com')
        .replace(`  port: ${port}\n`, '  user: pqlsync\n'),
    );
    const wh = loadConfig(p.configPath).config.warehouse;
    expect(wh?.type === 'redshift' && redshiftIam(wh)).toEqual({
      clusterId: 'analytics',
      region: 'us-east-1',
      identity: 'db_user',
      dbUser: 'pqlsync',
      dbName: db,
      durationSeconds: 3600,
    });
  });
});
