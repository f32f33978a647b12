/**
 * CRM throughput against the sandboxes (issue 22), real clocks on both sides:
 * - HubSpot at the Free/Starter limit, 100 requests per rolling 10 s (the sandbox's window and the config's
 *   `rate_limit` alike): 100 records per batch make a ceiling of 1,000 records/s. Target: >= 95 % of it, 0
 *   responses 429. The target is judged on the whole run's records/s (plan, preflight and commits included); the
 *   table also shows records/s from the first request's arrival at the sandbox to the last one's.
 * - Salesforce, 100k Leads above `bulk_threshold`: Bulk API 2.0 ingest jobs per run (target: 1).
 * - The HubSpot sandbox's store holding 1M contacts, in a process of its own (hubspot-store-case.ts): peak RSS
 *   (target: under 2 GB, so the 1M case can run against the sandbox).
 * `npm run bench` runs these after the warehouse cases (`--no-crm` skips them); alone:
 * `node --import tsx test/bench/crm-bench.ts`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { startHarness } from '../integration/hubspot/hubspot-harness.js';
import { salesforceFixture } from '../integration/salesforce/salesforce-fixture.js';

/** HubSpot's Free/Starter limit (hubspot-api.md §9) and its batch size: the records/s no run can pass for long. */
const HUBSPOT_REQUESTS = 100;
const HUBSPOT_WINDOW_MS = 10_000;
const HUBSPOT_CEILING = (HUBSPOT_REQUESTS * 100) / (HUBSPOT_WINDOW_MS / 1000);

export interface CrmCaseResult {
  name: string;
  records: number;
  applied: number;
  ms: number;
  /** From the first request's arrival to the last one's (the sandbox's log): the part the CRM's limit governs. */
  sendingMs?: number;
  /** From the run's start to the first request's arrival (the plan, the client's load), and from the last to the end. */
  beforeFirstMs?: number;
  afterLastMs?: number;
  requests: number;
  responses429: number;
  bulkJobs?: number;
}

/** One HubSpot sync of `contacts` new contacts at 100 requests / rolling 10 s. */
export async function hubspotThroughputCase(contacts: number): Promise<CrmCaseResult> {
  const h = await startHarness({
    rows: contacts,
    realClock: true,
    rateLimitRequests: HUBSPOT_REQUESTS,
    rateLimitPerMs: HUBSPOT_WINDOW_MS,
    sandbox: { tenSecondlyLimit: HUBSPOT_REQUESTS, intervalMs: HUBSPOT_WINDOW_MS, dailyLimit: 10_000_000 },
  });
  try {
    const startedAt = Date.now();
    const started = performance.now();
    const summary = await h.run({ retry: { maxAttempts: 8, initialDelayMs: 500, maxDelayMs: 30_000 } });
    const ms = performance.now() - started;
    const log = await h.requests();
    const arrivals = (
      (await h.admin('GET', '/_sandbox/requests?since=0')) as Array<{ path: string; at: string }>
    )
      .filter((e) => e.path.startsWith('/crm/'))
      .map((e) => Date.parse(e.at));
    return {
      name: `HubSpot, ${contacts.toLocaleString('en-US')} contacts, 100 requests / 10 s`,
      records: contacts,
      applied: summary.counts.applied,
      ms,
      sendingMs: Math.max(...arrivals) - Math.min(...arrivals),
      beforeFirstMs: Math.min(...arrivals) - startedAt,
      afterLastMs: startedAt + ms - Math.max(...arrivals),
      requests: log.length,
      responses429: log.filter((r) => r.status === 429).length,
    };
  } finally {
    await h.close();
  }
}

/** One Salesforce sync of `leads` new Leads, above `bulk_threshold`, so through Bulk API 2.0. */
export async function salesforceBulkCase(leads: number): Promise<CrmCaseResult> {
  const f = await salesforceFixture();
  try {
    f.writeConfig();
    await f.seedUsers(leads);
    const started = performance.now();
    const summary = await f.run();
    const ms = performance.now() - started;
    const sent = await f.requests();
    const bulk = (await f.admin('GET', '/_sandbox/salesforce/bulk')).body as { jobsCreated: number };
    return {
      name: `Salesforce, ${leads.toLocaleString('en-US')} Leads by Bulk API 2.0`,
      records: leads,
      applied: summary.counts.applied,
      ms,
      requests: sent.length,
      responses429: sent.filter((r) => r.status === 429).length,
      bulkJobs: bulk.jobsCreated,
    };
  } finally {
    await f.close();
  }
}

export interface StoreCaseResult {
  contacts: number;
  ms: number;
  heapBytes: number;
  peakRssBytes: number;
}

/** The HubSpot sandbox's store filled with `contacts` contacts, in a child process (its RSS is the store's). */
export function hubspotStoreCase(contacts: number): StoreCaseResult {
  const script = fileURLToPath(new URL('./hubspot-store-case.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, String(contacts)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as StoreCaseResult;
}

/** Runs the CRM cases one after another and prints their table and targets. */
export async function runCrmBench(): Promise<void> {
  setLogger(createLogger({ level: 'silent' }));
  const hubspot: CrmCaseResult[] = [];
  for (const contacts of [10_000, 30_000]) {
    process.stderr.write(`bench: HubSpot sandbox, ${contacts.toLocaleString('en-US')} contacts...\n`);
    hubspot.push(await hubspotThroughputCase(contacts));
  }
  process.stderr.write('bench: Salesforce sandbox, 100,000 Leads by Bulk...\n');
  const salesforce = await salesforceBulkCase(100_000);
  process.stderr.write('bench: HubSpot sandbox store, 1,000,000 contacts...\n');
  const store = hubspotStoreCase(1_000_000);
  const all = [...hubspot, salesforce];

  const header = [
    'CRM case',
    'applied',
    'seconds',
    'records/s',
    'records/s, first to last request',
    'before the first request / after the last, s',
    'requests',
    '429s',
    'Bulk jobs',
  ];
  const rows = all.map((r) => [
    r.name,
    r.applied.toLocaleString('en-US'),
    (r.ms / 1000).toFixed(1),
    Math.round(r.applied / (r.ms / 1000)).toLocaleString('en-US'),
    r.sendingMs === undefined ? '' : Math.round(r.applied / (r.sendingMs / 1000)).toLocaleString('en-US'),
    r.beforeFirstMs === undefined
      ? ''
      : `${(r.beforeFirstMs / 1000).toFixed(2)} / ${((r.afterLastMs ?? 0) / 1000).toFixed(2)}`,
    String(r.requests),
    String(r.responses429),
    r.bulkJobs === undefined ? '' : String(r.bulkJobs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padStart(widths[i]!)).join(' | ') + ' |';
  console.log('');
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));

  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log('\ntargets (CRM sandboxes):');
  for (const r of hubspot) {
    const share = r.applied / (r.ms / 1000) / HUBSPOT_CEILING;
    const ok = share >= 0.95 && r.responses429 === 0 && r.applied === r.records;
    console.log(
      `  ${r.name}: >= 95% of ${HUBSPOT_CEILING.toLocaleString('en-US')} records/s and 0 responses 429: ` +
        `${(share * 100).toFixed(1)}%, ${r.responses429} 429s, ${verdict(ok)}`,
    );
  }
  const jobsOk = salesforce.bulkJobs === 1 && salesforce.applied === salesforce.records;
  console.log(
    `  ${salesforce.name}: 1 ingest job per run: ${salesforce.bulkJobs ?? 0} jobs, ${verdict(jobsOk)}`,
  );
  const storeMb = store.peakRssBytes / 1e6;
  console.log(
    `  HubSpot sandbox store, ${store.contacts.toLocaleString('en-US')} contacts: peak RSS < 2,000 MB: ` +
      `${storeMb.toFixed(0)} MB (heap ${(store.heapBytes / 1e6).toFixed(0)} MB, filled in ${(store.ms / 1000).toFixed(0)} s), ${verdict(storeMb < 2000)}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runCrmBench();
