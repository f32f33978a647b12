import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresAdapter } from '../../../src/warehouse/postgres/postgres-adapter.js';

/** Redshift listens on 5439: a Redshift warehouse without a port (in `port` or the URL) connects there. */
let server: Server;
let connections = 0;
let listening = true;
beforeAll(async () => {
  server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => {
    server.once('error', () => {
      listening = false;
      resolve();
    });
    server.listen(5439, '127.0.0.1', resolve);
  });
});
afterAll(() => new Promise<void>((r) => (listening ? server.close(() => r()) : r())));

it.each([
  ['host', { host: '127.0.0.1', database: 'dev', user: 'u' }],
  ['url', { url: 'postgres://u@127.0.0.1/dev' }],
])('a Redshift warehouse given by %s without a port connects to 5439', async (_by, options) => {
  if (!listening) return; // port 5439 is taken on this machine: nothing to observe
  const before = connections;
  const wh = new PostgresAdapter({ ...options, dialect: 'redshift' });
  await expect(wh.connect()).rejects.toThrow('cannot connect to Redshift at 127.0.0.1:5439/dev');
  expect(connections).toBeGreaterThan(before);
});
