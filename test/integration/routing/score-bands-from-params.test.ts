/**
 * Score bands that name a model param (issue 23, small item): with fixed bands in routing, `--vars
 * '{"hot_threshold": 41}'` moved the CRM tier (the model's own tier column) but not the task tier (the bands). A
 * band's `min_score` may now name the model param, so both read the same value in every run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { startRoutingHarness, type RoutingHarness } from './routing-harness.js';

setLogger(createLogger({ level: 'silent' }));

const MODEL = `/*---
name: users
key: user_id
params:
  hot_threshold: { type: integer, default: 70, min: 1, max: 100 }
  pql_threshold: { type: integer, default: 40, min: 1, max: 100 }
---*/
select user_id, email, last_name, company, score,
  case when score >= :hot_threshold then 'hot' when score >= :pql_threshold then 'pql' else 'nurture' end as tier
from src.users
`;

const config = (bands: string) => (url: string, token: string) => `
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  sf:
    type: salesforce
    instance_url: ${url}
    auth: { type: access_token, access_token: ${token} }
syncs:
  users:
    model: users
    destination: sf
    object: Lead
    match: { field: Product_User_Id__c, column: user_id }
    fields: { Email: email, LastName: last_name, Company: company, PQL_Score__c: score, PQL_Tier__c: tier }
    routing:
      score_column: score
      tiers:
${bands}
        - { name: nurture }
      task:
        subject: '{{ tier }} PQL: {{ email }}'
`;

let h: RoutingHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(bands: string): Promise<RoutingHarness> {
  h = await startRoutingHarness(config(bands));
  h.project.writeModel('users', MODEL);
  await h.seed([
    { id: 'u1', score: 45, employees: 10, plan: 'pro', dashboards: 1 },
    { id: 'u2', score: 30, employees: 10, plan: 'pro', dashboards: 1 },
  ]);
  return h;
}

describe('score bands from model params', () => {
  it('--vars hot_threshold moves the task tier with the CRM tier', async () => {
    const harness = await start(
      '        - { name: hot, min_score: hot_threshold }\n        - { name: pql, min_score: pql_threshold }',
    );
    const summary = await harness.run({ vars: { hot_threshold: 41 } });
    expect(summary.status, JSON.stringify(summary.error)).toBe('success');
    const leads = (await harness.admin('GET', '/_sandbox/salesforce/Lead')).body as {
      records: Array<Record<string, unknown>>;
    };
    expect(leads.records.find((r) => r.Product_User_Id__c === 'u1')?.PQL_Tier__c).toBe('hot');
    const log = await harness.taskLog();
    expect(log.map((e) => [e.entityKey, e.tier, e.task.subject])).toEqual([
      ['u1', 'hot', 'hot PQL: u1@acme.io'],
    ]);
  });

  it('a band naming an undeclared param fails the run with a located config error', async () => {
    const harness = await start(
      '        - { name: hot, min_score: hot_treshold }\n        - { name: pql, min_score: 40 }',
    );
    const summary = await harness.run();
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatchObject({
      code: 'CONFIG_INVALID',
      message:
        "sync users, syncs.users.routing.tiers.0.min_score: tier 'hot' takes min_score from param hot_treshold, which model users does not declare (params: hot_threshold, pql_threshold)",
      location: { sync: 'users', path: 'syncs.users.routing.tiers.0.min_score' },
    });
  });

  it('params that put the bands out of order fail the run', async () => {
    const harness = await start(
      '        - { name: hot, min_score: hot_threshold }\n        - { name: pql, min_score: pql_threshold }',
    );
    const summary = await harness.run({ vars: { hot_threshold: 30 } });
    expect(summary.error).toMatchObject({
      code: 'CONFIG_INVALID',
      message:
        "sync users, syncs.users.routing.tiers.1.min_score: tiers go from highest to lowest: 'pql' (40) must be below 'hot' (30) with this run's params",
    });
  });
});
