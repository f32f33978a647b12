/**
 * The loop report's owner rows show names (issue 20): a routed run records the CRM's owners (Salesforce
 * `User.Name`, HubSpot owners' firstName lastName, as the sandboxes hold them) in the state schema, and the
 * report's by-owner rows carry the name next to the owner id (`group`, in --json) and show the name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { pullCrm } from '../../../src/pull/pull-crm.js';
import { buildLoopReport } from '../../../src/report/loop-report.js';
import { renderLoopText } from '../../../src/report/render-loop-report.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { startRoutingHarness, T0, type RoutingHarness } from './routing-harness.js';

setLogger(createLogger({ level: 'silent' }));

const sync = (destination: string, object: string, match: string, fields: string, pool: string) => `
syncs:
  users:
    model: users
    destination: ${destination}
    object: ${object}
    match: { field: ${match}, column: user_id }
    fields:
${fields}
    routing:
      rules:
        - name: all
          assign: { strategy: round_robin, pool: [${pool}] }
`;

const CRMS = [
  {
    crm: 'salesforce',
    config: (url: string, token: string) => `
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  sf: { type: salesforce, instance_url: ${url}, auth: { type: access_token, access_token: ${token} } }
${sync('sf', 'Lead', 'Product_User_Id__c', '      LastName: last_name\n      Company: company\n      PQL_Score__c: score', 'ava.patel@example.com, ben.okafor@example.com')}`,
    names: async (h: RoutingHarness) =>
      new Map(
        (
          (await h.admin('GET', '/_sandbox/salesforce/User')).body as {
            records: Array<{ Id: string; Name: string }>;
          }
        ).records.map((u) => [u.Id, u.Name]),
      ),
  },
  {
    crm: 'hubspot',
    config: (url: string, token: string) => `
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  hs: { type: hubspot, access_token: ${token}, base_url: ${url}, create_properties: true }
${sync('hs', 'contacts', 'product_user_id', '      email: email\n      pql_score: score', 'ada.lovelace@example.com, grace.hopper@example.com')}`,
    names: async (h: RoutingHarness) =>
      new Map(
        (
          (await h.admin('GET', '/_sandbox/hubspot/owners')).body as {
            results: Array<{ id: string; firstName: string; lastName: string }>;
          }
        ).results.map((o) => [o.id, `${o.firstName} ${o.lastName}`]),
      ),
  },
];

describe.each(CRMS)('owner names on $crm', ({ config, names }) => {
  let h: RoutingHarness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('shows each owner row by the CRM name, with the id in the JSON', async () => {
    h = await startRoutingHarness(config);
    await h.seed(
      ['u1', 'u2', 'u3', 'u4'].map((id, i) => ({
        id,
        score: 80 + i,
        employees: 50,
        plan: 'pro',
        dashboards: 1,
      })),
    );
    expect((await h.run()).counts.tasks).toBe(4);
    const loaded = loadConfig(h.project.configPath);
    const [pulled] = await pullCrm({ loaded, warehouse: h.wh, now: () => T0 });
    expect(pulled?.status).toBe('success');
    const report = await buildLoopReport({
      loaded,
      warehouse: h.wh,
      sync: 'users',
      since: new Date('2025-01-01T00:00:00Z'),
      until: new Date('2025-02-01T00:00:00Z'),
    });
    const crmNames = await names(h);
    const owners = report.byOwner.map((m) => [m.group, m.name, m.tasksCreated]);
    expect(owners).toHaveLength(2);
    for (const [id, name, tasks] of owners) {
      expect(name).toBe(crmNames.get(String(id)));
      expect(tasks).toBe(2);
    }
    const text = renderLoopText(report);
    for (const [id, name] of owners) {
      expect(text).toContain(`\n${String(name)}`);
      expect(text).not.toContain(`\n${String(id)} `);
    }
  });
});
