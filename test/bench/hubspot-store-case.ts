/**
 * The HubSpot sandbox's store holding N contacts (issue 22: 1M in under 2 GB), in a process of its own so its RSS is
 * the store's: N contacts upserted in batches of 100 through the sandbox's own route handler (no HTTP: the store is
 * measured, not the socket), with the PQL properties a sync writes. Prints one JSON line.
 * `node --expose-gc --import tsx test/bench/hubspot-store-case.ts 1000000`
 */
import { createHubspotApi } from '../../src/sandbox/hubspot/hubspot-api.js';
import type { SandboxContext, SandboxRequest } from '../../src/sandbox/sandbox-types.js';

const contacts = Number(process.argv[2] ?? 1_000_000);
const ctx: SandboxContext = {
  now: () => new Date(),
  random: Math.random,
  faults: { takeRecordFault: () => undefined, takeOmittedResults: () => new Set<number>() },
  token: 'bench-token',
  baseUrl: () => 'http://127.0.0.1',
};
const api = createHubspotApi(ctx, { tenSecondlyLimit: 1e12, dailyLimit: 1e12 });
const request = (method: string, path: string, body: unknown): SandboxRequest => ({
  method,
  path,
  query: new URLSearchParams(),
  headers: { authorization: 'Bearer bench-token' },
  rawBody: Buffer.from(JSON.stringify(body)),
  body,
});
const send = (method: string, path: string, body: unknown): void => {
  const res = api.handle(request(method, path, body)) as { status: number; body?: unknown };
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
};

const properties: Array<[string, string, string, Record<string, unknown>]> = [
  ['product_user_id', 'string', 'text', { hasUniqueValue: true }],
  ['pql_score', 'number', 'number', {}],
  ['pql_tier', 'string', 'text', {}],
  [
    'is_pql',
    'bool',
    'booleancheckbox',
    {
      options: [
        { label: 'Yes', value: 'true' },
        { label: 'No', value: 'false' },
      ],
    },
  ],
  ['pql_qualified_at', 'date', 'date', {}],
  ['pql_last_seen_at', 'datetime', 'date', {}],
  ['pql_reasons', 'string', 'textarea', {}],
];
for (const [name, type, fieldType, extra] of properties) {
  send('POST', '/crm/v3/properties/contacts', {
    name,
    label: name,
    type,
    fieldType,
    groupName: 'contactinformation',
    ...extra,
  });
}

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage();
const started = performance.now();
for (let i = 1; i <= contacts; i += 100) {
  const inputs = [];
  for (let j = i; j < Math.min(contacts + 1, i + 100); j++) {
    const score = (j * 7) % 100;
    inputs.push({
      idProperty: 'product_user_id',
      id: String(j),
      properties: {
        email: `user${j}@example.com`,
        product_user_id: String(j),
        pql_score: String(score),
        pql_tier: score >= 70 ? 'hot' : score >= 40 ? 'pql' : 'nurture',
        is_pql: String(score >= 40),
        pql_qualified_at: `2026-10-${String((j % 28) + 1).padStart(2, '0')}`,
        pql_last_seen_at: new Date(Date.UTC(2026, 10, 1) + j * 60_000).toISOString(),
        pql_reasons: `score ${score}; ${j % 3} invites`,
      },
    });
  }
  send('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs });
}
const ms = performance.now() - started;
gc?.();
const after = process.memoryUsage();
console.log(
  JSON.stringify({
    contacts,
    ms,
    heapBytes: after.heapUsed - before.heapUsed,
    rssBytes: after.rss,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  }),
);
