/**
 * A routed run uses one CRM session: the records and the tasks go out under one login. `pqlsync run`'s path
 * (runSyncs) against the sandbox's Salesforce with refresh-token auth and no access token to start from, so every
 * login is a `POST /services/oauth2/token` in the sandbox's request log: one per run, not one for the
 * destination and another for the task writer. A second run (a new CLI invocation) logs in again, once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { runSyncs } from '../../../src/runner/run-syncs.js';
import type { RecordedRequest } from '../../../src/sandbox/sandbox-server.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { startRoutingHarness, type RoutingHarness } from './routing-harness.js';

setLogger(createLogger({ level: 'silent' }));

const config = (url: string, refreshToken: string, accessToken?: string) => `
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  sf:
    type: salesforce
    instance_url: ${url}
    auth: { type: refresh_token, client_id: pqlsync-test, refresh_token: '${refreshToken}', login_url: '${url}'${accessToken ? `, access_token: '${accessToken}'` : ''} }
syncs:
  users:
    model: users
    destination: sf
    object: Lead
    match: { field: Product_User_Id__c, column: user_id }
    fields:
      Email: email
      LastName: last_name
      Company: company
      PQL_Score__c: score
    routing:
      sla:
        hot: { due_in: 1h, priority: high }
        pql: { due_in: 4h, priority: normal }
      rules:
        - name: sales
          assign: { strategy: round_robin, pool: [ava.patel@example.com, ben.okafor@example.com] }
`;

describe('a routed Salesforce run', () => {
  let h: RoutingHarness;
  beforeEach(async () => {
    h = await startRoutingHarness(() => 'version: 1\n');
  });
  afterEach(async () => {
    await h.close();
  });

  const logins = async (since: number) =>
    ((await h.admin('GET', `/_sandbox/requests?since=${since}`)).body as RecordedRequest[]).filter(
      (r) => r.method === 'POST' && r.path === '/services/oauth2/token',
    );

  it('logs in once for the records and the tasks, and once again in the next run', async () => {
    const tokens = (await h.admin('POST', '/_sandbox/salesforce/oauth/tokens', {})).body as Record<
      string,
      string
    >;
    h.project.writeConfig(config(h.sandbox.url, tokens.refresh_token ?? ''));
    await h.seed([
      { id: 'u1', score: 80, employees: 900, plan: 'pro', dashboards: 12 },
      { id: 'u2', score: 50, employees: 40, plan: 'pro', dashboards: 4 },
    ]);
    const seq = async () => {
      const log = (await h.admin('GET', '/_sandbox/requests')).body as RecordedRequest[];
      return log.at(-1)?.seq ?? 0;
    };
    const start = await seq();
    const loaded = loadConfig(h.project.configPath);
    const [first] = await runSyncs({ loaded, warehouse: h.wh, syncs: ['users'] });
    expect(first?.status).toBe('success');
    expect(first?.counts).toMatchObject({ applied: 2, tasks: 2 });
    expect((await logins(start)).map((r) => r.status)).toEqual([200]);

    await h.setScore('u2', 85);
    const between = await seq();
    const [second] = await runSyncs({
      loaded: loadConfig(h.project.configPath),
      warehouse: h.wh,
      syncs: ['users'],
    });
    expect(second?.status).toBe('success');
    expect(second?.counts).toMatchObject({ applied: 1, tasks: 1 });
    expect((await logins(between)).map((r) => r.status)).toEqual([200]);
  });

  it('renews an expired access token once for the records and the tasks', async () => {
    const tokens = (await h.admin('POST', '/_sandbox/salesforce/oauth/tokens', {})).body as Record<
      string,
      string
    >;
    await h.admin('POST', '/_sandbox/salesforce/oauth/expire', { accessToken: tokens.access_token });
    h.project.writeConfig(config(h.sandbox.url, tokens.refresh_token ?? '', tokens.access_token));
    await h.seed([{ id: 'u1', score: 80, employees: 900, plan: 'pro', dashboards: 12 }]);
    const before = (await h.admin('GET', '/_sandbox/requests')).body as RecordedRequest[];
    const [summary] = await runSyncs({
      loaded: loadConfig(h.project.configPath),
      warehouse: h.wh,
      syncs: ['users'],
    });
    expect(summary?.status).toBe('success');
    expect(summary?.counts).toMatchObject({ applied: 1, tasks: 1 });
    const log = (
      (await h.admin('GET', `/_sandbox/requests?since=${before.at(-1)?.seq ?? 0}`)).body as RecordedRequest[]
    ).filter((r) => !r.path.startsWith('/_sandbox/'));
    // The task writer, opened first, meets the expired token and renews it; the destination starts with the new one.
    expect(log.filter((r) => r.status === 401).length).toBe(1);
    expect((await logins(before.at(-1)?.seq ?? 0)).map((r) => r.status)).toEqual([200]);
  });
});
