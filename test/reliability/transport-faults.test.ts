/**
 * Transport failures: a CRM that resets every write, one that never answers, and one nothing listens for. A
 * transport failure is never a record's rejection: the batch is retried whole (never split), the circuit breaker
 * stops the run after `retry.max_attempts` unanswered requests in a row (exit 1, the URL in the error, nothing
 * rejected, nothing in failures), and the run after the outage converges. An unreachable CRM fails at once.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { exitCodeFor, type RunSummary } from '../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { runCli } from '../helpers/cli.js';
import {
  admin,
  checkConverged,
  checkInvariants,
  configText,
  CRMS,
  invalidRows,
  reliabilityProject,
  runInProcess,
  vendorRequests,
  STATE,
  SYNC,
  type Crm,
  type ReliabilityProject,
} from './crm-harness.js';

setLogger(createLogger({ level: 'silent' }));

const FIRST_ROWS = 200;
const ROWS = 450;
/** The harness's `retry.max_attempts`: the breaker opens after this many unanswered requests in a row. */
const MAX_ATTEMPTS = 6;
/** Batches each CRM keeps in flight (Salesforce collections, HubSpot batches). */
const CONCURRENCY = 4;
const TIMEOUT_MS = 300;

/** The write request of each CRM as the breaker's error names it. */
function writeRequest(crm: Crm, url: string): string {
  return crm === 'salesforce'
    ? `PATCH ${url}/services/data/v62.0/composite/sobjects/Lead/Product_User_Id__c`
    : `POST ${url}/crm/v3/objects/contacts/batch/upsert`;
}

function breakerMessage(crm: Crm, url: string, reason: string, hint: string): string {
  return (
    `sync ${SYNC}: the CRM stopped answering: ${MAX_ATTEMPTS} requests in a row got no answer (circuit breaker open); ` +
    'the run stopped after committing what the CRM had acknowledged, and the next run sends the rest. ' +
    `Last failure: could not reach ${crm === 'salesforce' ? 'Salesforce' : 'HubSpot'} (${writeRequest(crm, url)}): ${reason}\n` +
    `  hint: ${hint}`
  );
}

describe.each(CRMS)('transport failures during writes: %s', (crm) => {
  let p: ReliabilityProject | undefined;
  let wh: DuckdbAdapter | undefined;
  afterEach(async () => {
    await wh?.close();
    await p?.close();
    wh = undefined;
    p = undefined;
  });

  /** A first clean sync, then the fault, then a run that changes every row and adds more under it. */
  async function faultedRun(
    fault: Record<string, unknown>,
    timeoutMs?: number,
  ): Promise<{ run: RunSummary; since: number }> {
    p = await reliabilityProject(crm, { rows: ROWS });
    wh = new DuckdbAdapter({ path: p.dbPath });
    await wh.connect();
    const first = await runInProcess(p, wh, { bump: 0, rows: FIRST_ROWS });
    expect(first.status).toBe('partial');
    // The short request timeout is part of the fault: only the faulted run has it (on a loaded machine a healthy
    // answer can take longer than TIMEOUT_MS, and the clean runs before and after must not time out).
    if (timeoutMs !== undefined) {
      const profile = { ...p.profile };
      profile.destinationYaml += `\n    request_timeout_ms: ${timeoutMs}`;
      p.project.writeConfig(configText(profile));
    }
    const log = (await admin(p.sandbox, 'GET', '/_sandbox/requests')) as Array<{ seq: number }>;
    await admin(p.sandbox, 'POST', '/_sandbox/faults', { route: p.profile.writeRoute, ...fault });
    return { run: await runInProcess(p, wh, { bump: 1, rows: ROWS }), since: log.at(-1)?.seq ?? 0 };
  }

  /** The faulted run stopped with exit 1 and rejected only what it refused before sending; then it converges. */
  async function expectStoppedThenConverged(run: RunSummary, since: number): Promise<void> {
    if (!p || !wh) throw new Error('no project');
    expect(run.status).toBe('failed');
    expect(exitCodeFor([run])).toBe(1);
    // Only the rows refused before sending (their values fail the CRM's field checks) are rejected; the outage
    // rejects nothing, and none of its failures is in the state.
    const invalid = invalidRows(p.profile, ROWS).map((i) => `u${i}`);
    expect(run.counts.rejected).toBe(invalid.length);
    expect(run.counts.applied).toBe(0);
    await checkInvariants(p, wh, run);
    const failures = await wh.query(
      `select key from ${STATE}.${SYNC}__failures where run_id = '${run.runId}' order by key`,
    );
    expect(failures.rows.map((r) => String(r.key))).toEqual([...invalid].sort());
    // Bounded: the breaker opened after MAX_ATTEMPTS unanswered writes; batches already in flight may add a few.
    const writes = (await vendorRequests(p.sandbox, since)).filter((r) =>
      `${r.method} ${r.path}`.includes(p?.profile.writeRoute.split(' ')[1] ?? '?'),
    );
    expect(writes.every((r) => r.status === 0)).toBe(true);
    expect(writes.length).toBeGreaterThanOrEqual(MAX_ATTEMPTS);
    expect(writes.length).toBeLessThanOrEqual(MAX_ATTEMPTS + CONCURRENCY - 1);

    await admin(p.sandbox, 'DELETE', '/_sandbox/faults');
    p.project.writeConfig(configText(p.profile));
    const clean = await runInProcess(p, wh, { bump: 1, rows: ROWS });
    expect(clean.status).toBe('partial');
    expect(clean.counts.rejected).toBe(invalidRows(p.profile, ROWS).length);
    await checkInvariants(p, wh, clean);
    await checkConverged(p, wh, ROWS, 1);
  }

  it('every write reset: the breaker stops the run (exit 1), nothing rejected, the rerun converges', async () => {
    const { run, since } = await faultedRun({ resetConnection: true });
    if (!p) throw new Error('no project');
    expect(run.error?.message).toBe(
      breakerMessage(
        crm,
        p.sandbox.url,
        'socket hang up',
        `the connection failed (a CRM outage, a proxy or a firewall dropped it): check that this host can reach destinations.crm.${crm === 'salesforce' ? 'instance_url' : 'base_url'}; the next run retries`,
      ),
    );
    await expectStoppedThenConverged(run, since);
  });

  it('every write left unanswered: each request times out, the breaker stops the run, the rerun converges', async () => {
    const { run, since } = await faultedRun({ hang: true }, TIMEOUT_MS);
    if (!p) throw new Error('no project');
    expect(run.error?.message).toBe(
      breakerMessage(
        crm,
        p.sandbox.url,
        `no answer within ${TIMEOUT_MS} ms`,
        `the CRM did not answer in time; check its status page, or raise destinations.crm.request_timeout_ms (now ${TIMEOUT_MS}) if its answers are slow`,
      ),
    );
    await expectStoppedThenConverged(run, since);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('an unreachable CRM (connection refused)', () => {
  it.each(CRMS)('%s: exit 1 at once, the URL and a hint in the error', async (crm) => {
    const p = await reliabilityProject(crm, { rows: 20 });
    try {
      const url = `http://127.0.0.1:${await closedPort()}`;
      const env = { ...p.env, SF_URL: url, HUBSPOT_URL: url };
      const started = Date.now();
      const r = await runCli(['run', SYNC, '--config', p.project.configPath, '--json'], { env });
      console.log(`unreachable ${crm}: exit ${r.code} after ${Date.now() - started} ms`);
      expect(r.code, r.stderr).toBe(1);
      const summary = JSON.parse(r.stdout) as RunSummary;
      const [request, field] =
        crm === 'salesforce'
          ? [`GET ${url}/services/data/v62.0/sobjects/Lead/describe`, 'instance_url']
          : [`GET ${url}/crm/v3/properties/contacts`, 'base_url'];
      const hint = `nothing accepts connections there: check destinations.crm.${field} (host and port) and that this host can reach it (firewall, VPN, HTTPS_PROXY / NO_PROXY)`;
      expect(summary.error).toEqual({
        code: 'DESTINATION_UNREACHABLE',
        kind: 'transient',
        message: `sync ${SYNC}: could not reach ${crm === 'salesforce' ? 'Salesforce' : 'HubSpot'} (${request}): connect ECONNREFUSED ${url.slice('http://'.length)}`,
        location: { sync: SYNC },
        hint,
      });
      // The first request (preflight) ends the run; nothing else is tried.
      expect(summary.apiCalls).toBe(1);
    } finally {
      await p.close();
    }
  });
});
