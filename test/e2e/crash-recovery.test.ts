/**
 * A real `pqlsync run` process is SIGKILLed while it writes to HubSpot (the sandbox), then rerun: the CRM ends
 * equal to the model output, with nothing lost and nothing duplicated, and a further run has nothing to do.
 *
 * The kill point is exact: the sandbox holds the chosen record batch (seeded) open, before HubSpot saw it or
 * after HubSpot applied it with the answer held back; the test waits until it is held, kills the run, then
 * releases the batch. No clock decides where the kill lands.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldStage } from '../../src/sandbox/request-holds.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/sandbox-server.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { collect, pqlsyncStderr, runCli, seeded, startCli } from '../helpers/cli.js';
import { addFault, clearFaults, heldOrExited, releaseHeld } from '../helpers/sandbox-holds.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

const ROWS = 1000;
/** HubSpot batch upserts take 100 records. */
const BATCHES = ROWS / 100;
const UPSERT = 'POST /crm/v3/objects/contacts/batch/upsert';
const MODEL = `/*---
name: scores
key: user_id
params:
  bump: { type: integer, default: 0 }
---*/
select user_id, email, (score + :bump) % 100 as score from src.users
`;
const CONFIG = `warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  crm:
    type: hubspot
    access_token: '\${HUBSPOT_TOKEN}'
    base_url: '\${HUBSPOT_URL}'
    create_properties: true
    rate_limit: { requests: 10000, per_ms: 10000 }
syncs:
  users:
    model: scores
    destination: crm
    object: contacts
    match: { field: product_user_id, column: user_id }
    fields: { email: email, pql_score: score }
`;

/** The sandbox's contacts: product_user_id → the mapped properties, and every product_user_id seen. */
async function crmState(
  sandbox: RunningSandbox,
): Promise<{ byKey: Map<string, Record<string, unknown>>; keys: string[] }> {
  const res = await fetch(`${sandbox.url}/_sandbox/hubspot/contacts`, {
    headers: { authorization: `Bearer ${sandbox.token}` },
  });
  const body = (await res.json()) as { results: Array<{ properties: Record<string, string | null> }> };
  const keys = body.results.map((r) => String(r.properties.product_user_id));
  const byKey = new Map(
    body.results.map((r) => [
      String(r.properties.product_user_id),
      { email: r.properties.email, pql_score: r.properties.pql_score },
    ]),
  );
  return { byKey, keys };
}

function modelOutput(bump: number): Map<string, Record<string, unknown>> {
  return new Map(
    Array.from({ length: ROWS }, (_, k) => k + 1).map((i) => [
      String(i),
      { email: `u${i}@example.com`, pql_score: String((((i * 7) % 100) + bump) % 100) },
    ]),
  );
}

describe('crash recovery: SIGKILL while writing, then rerun', () => {
  let p: TempProject;
  let sandbox: RunningSandbox;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 5, hubspot: { tenSecondlyLimit: 100_000 } });
    env = { HUBSPOT_TOKEN: sandbox.token, HUBSPOT_URL: sandbox.url };
    p = tempProject('pqlsync-crash-');
    p.writeModel('scores', MODEL);
    p.writeConfig(CONFIG);
    const wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
    await wh.connect();
    await wh.query('create schema src');
    await wh.query(
      `create table src.users as select i as user_id, 'u' || i || '@example.com' as email, (i * 7) % 100 as score from range(1, ${ROWS + 1}) t(i)`,
    );
    await wh.close();
  });
  afterAll(async () => {
    await sandbox?.close();
    p?.cleanup();
  });

  it('converges after kills at seeded batches, before and after HubSpot applied them', async () => {
    const random = seeded(20261125);
    // Two kills (one per stage); each costs two CLI processes, the slow part on a busy machine.
    const trials = 2;
    let args: string[] = [];
    for (let trial = 1; trial <= trials; trial++) {
      // Each trial changes every row (a new bump), so every trial writes all BATCHES batches.
      const vars = JSON.stringify({ bump: trial });
      args = ['run', 'users', '--config', p.configPath, '--vars', vars, '--json'];
      const batch = 1 + Math.floor(random() * BATCHES);
      const stage: HoldStage = trial % 2 === 1 ? 'after' : 'before';
      await addFault(sandbox, { route: UPSERT, hold: stage, skip: batch - 1, times: 1 });
      const child = startCli(args, { cwd: p.dir, env });
      const done = collect(child);
      const reached = await heldOrExited(sandbox, child);
      if (reached === 'held') child.kill('SIGKILL');
      const killed = await done;
      expect([reached, killed.signal], `trial ${trial} (batch ${batch}): ${killed.stderr}`).toEqual([
        'held',
        'SIGKILL',
      ]);
      expect(await releaseHeld(sandbox)).toHaveLength(1);
      await clearFaults(sandbox);

      const rerun = await runCli(args, { cwd: p.dir, env });
      expect(pqlsyncStderr(rerun.stderr)).toEqual([]);
      expect(rerun.code).toBe(0);
      const summary = JSON.parse(rerun.stdout.trim()) as { status: string; counts: { applied: number } };
      expect(summary.status).toBe('success');
      // The held batch was never committed by the killed run: the rerun sends it (and any after it) again.
      expect(summary.counts.applied).toBeGreaterThan(0);
      const expected = modelOutput(trial);
      const actual = await crmState(sandbox);
      expect(actual.keys.length, 'one contact per user, none duplicated').toBe(ROWS);
      expect(new Set(actual.keys).size).toBe(ROWS);
      for (const [k, v] of expected) expect(actual.byKey.get(k), `record ${k}`).toEqual(v);
    }
    // After the last rerun, another run has nothing left to do.
    const again = await runCli(args, { cwd: p.dir, env });
    expect(JSON.parse(again.stdout.trim())).toMatchObject({
      status: 'success',
      counts: { added: 0, changed: 0, removed: 0 },
    });
  }, 600_000);
});
