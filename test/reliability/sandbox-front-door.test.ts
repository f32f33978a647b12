/**
 * The sandbox's front door (issue 23, item 12): credentials are checked before a request body is read, bodies are
 * capped at what the vendor accepts on the route, and `--state` holds every write the sandbox acknowledged even
 * when it is killed right after answering.
 */
import { request, type IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/sandbox-server.js';
import { collect, startCli } from '../helpers/cli.js';

const MB = 1024 * 1024;

interface Answer {
  status: number;
  body: unknown;
  /** Body bytes written before the answer came. */
  sent: number;
}

/**
 * Sends headers that announce `declared` body bytes (or a chunked body when undefined), then writes `chunk` bytes
 * at a time, up to `send` bytes in all, and stops writing as soon as the answer arrives. A server that waits for
 * the whole body never answers (the test then times out): the body is never completed.
 */
/**
 * Sends a body in chunks until the sandbox answers. The sandbox answers and closes the connection without reading
 * on; a write that races that close can fail (EPIPE, ECONNRESET) before the client has parsed the answer, which says
 * nothing about the sandbox: such an attempt is made again, up to three times.
 */
async function announce(...args: Parameters<typeof announceOnce>): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await announceOnce(...args);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt >= 3 || (code !== 'EPIPE' && code !== 'ECONNRESET')) throw err;
    }
  }
}

async function announceOnce(
  url: string,
  method: string,
  urlPath: string,
  headers: Record<string, string>,
  options: { declared?: number; send: number; chunk?: number },
): Promise<Answer> {
  const chunk = Buffer.alloc(options.chunk ?? 256 * 1024, 0x61);
  const req = request(`${url}${urlPath}`, {
    method,
    headers: {
      ...headers,
      'content-type': 'application/json',
      ...(options.declared !== undefined ? { 'content-length': String(options.declared) } : {}),
    },
  });
  let answered = false;
  let sent = 0;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', (res) => {
      answered = true;
      resolve(res);
    });
    req.once('error', (e) => (answered ? undefined : reject(e)));
  });
  req.flushHeaders();
  while (!answered && sent < options.send) {
    if (!req.write(chunk)) await Promise.race([once(req, 'drain'), response]);
    sent += chunk.length;
  }
  const res = await response;
  const text: string[] = [];
  for await (const part of res) text.push(String(part));
  req.destroy();
  const raw = text.join('');
  return {
    status: res.statusCode ?? 0,
    body: raw.startsWith('{') || raw.startsWith('[') ? JSON.parse(raw) : raw,
    sent,
  };
}

describe('credentials before bodies, bodies capped per vendor', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 3, token: 'front-door-token-1234' });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const wrong = { authorization: 'Bearer not-the-token' };
  const right = () => ({ authorization: `Bearer ${sandbox.token}` });

  it('answers HubSpot 401 before reading a 150 MB body', async () => {
    const a = await announce(sandbox.url, 'POST', '/crm/v3/objects/contacts/batch/upsert', wrong, {
      declared: 150 * MB,
      send: 150 * MB,
    });
    expect(a.status).toBe(401);
    expect(a.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    expect(a.sent).toBeLessThan(150 * MB);
  }, 60_000);

  it('answers Salesforce 401 before reading a 150 MB Bulk upload', async () => {
    const a = await announce(sandbox.url, 'PUT', '/services/data/v62.0/jobs/ingest/750x/batches', wrong, {
      declared: 150 * MB,
      send: 150 * MB,
    });
    expect(a.status).toBe(401);
    expect(a.body).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    expect(a.sent).toBeLessThan(150 * MB);
  }, 60_000);

  it('answers the admin routes 401 before reading a chunked body', async () => {
    const a = await announce(sandbox.url, 'POST', '/_sandbox/faults', wrong, { send: 150 * MB });
    expect(a.status).toBe(401);
    expect(a.body).toEqual({
      error: 'unauthorized',
      message:
        'sandbox admin routes need the header Authorization: Bearer <the token pqlsync sandbox printed>',
    });
    expect(a.sent).toBeLessThan(150 * MB);
  }, 60_000);

  it.each([
    ['HubSpot', 'POST', '/crm/v3/objects/contacts/batch/upsert', 10 * MB],
    ['Salesforce REST', 'PATCH', '/services/data/v62.0/composite/sobjects/Lead/Ext__c', 50 * MB],
    ['Salesforce Bulk 2.0 upload', 'PUT', '/services/data/v62.0/jobs/ingest/750x/batches', 150 * MB],
  ])(
    'refuses a %s body over the vendor limit by its Content-Length (413)',
    async (_, method, route, limit) => {
      const a = await announce(sandbox.url, method, route, right(), { declared: limit + 1, send: limit + 1 });
      expect(a.status).toBe(413);
      expect(a.body).toEqual({
        error: `request body larger than ${limit} bytes, the most this route accepts`,
      });
      expect(a.sent).toBeLessThan(limit);
    },
    60_000,
  );

  it('refuses a chunked HubSpot body once it passes 10 MB, and reads no more', async () => {
    const a = await announce(sandbox.url, 'POST', '/crm/v3/objects/contacts/batch/upsert', right(), {
      send: 150 * MB,
    });
    expect(a.status).toBe(413);
    expect(a.body).toEqual({
      error: `request body larger than ${10 * MB} bytes, the most this route accepts`,
    });
    expect(a.sent).toBeLessThan(150 * MB);
  }, 60_000);

  it('still serves a request with the right token', async () => {
    const res = await fetch(`${sandbox.url}/crm/v3/objects/contacts`, {
      method: 'POST',
      headers: { ...right(), 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { email: 'front@example.com' } }),
    });
    expect(res.status).toBe(201);
  });
});

describe('--state holds every acknowledged write', () => {
  it('a sandbox killed right after answering a write has it in its state file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-sbx-state-'));
    const stateFile = path.join(dir, 'state.json');
    const token = 'state-file-token-5678';
    const child = startCli(['sandbox', '--port', '0', '--token', token, '--state', stateFile, '--json']);
    try {
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      const { url } = JSON.parse(String(line).split('\n')[0]!) as { url: string };
      for (let i = 1; i <= 5; i++) {
        const res = await fetch(`${url}/crm/v3/objects/contacts`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ properties: { email: `acked${i}@example.com` } }),
        });
        expect(res.status).toBe(201);
      }
      // Killed the moment the last write is acknowledged: no close, no flush.
      child.kill('SIGKILL');
      const ended = await collect(child);
      expect(ended.signal).toBe('SIGKILL');
      const saved = readFileSync(stateFile, 'utf8');
      for (let i = 1; i <= 5; i++) expect(saved).toContain(`acked${i}@example.com`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
