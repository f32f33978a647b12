/**
 * Starts and stops a sandbox's HTTP server on 127.0.0.1 (a free port unless one is given).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

export async function listenLocal(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  port = 0,
): Promise<LocalServer> {
  const server: Server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The request body as JSON (gunzipped first when the client compressed it). */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let buf = Buffer.concat(chunks);
  if (buf.length === 0) return {};
  if (req.headers['content-encoding'] === 'gzip') buf = gunzipSync(buf);
  return JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
}
