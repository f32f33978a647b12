/**
 * The closed loop end to end on HubSpot and DuckDB: `pqlsync demo --crm hubspot`, then `--advance-days 14`. The
 * report's SLA-met % and PQL-to-opportunity rate per tier equal an independent SQL computation over the records the
 * sandbox holds (its tasks with their contact, and deals with their contact), joined with task_log's tiers and due
 * times.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { advancedDemo } from './pull-harness.js';

setLogger(createLogger({ level: 'silent' }));

interface AdminRecord {
  id: string;
  properties: Record<string, string>;
  associations: Array<{ to: { id: string }; toObjectType: string }>;
}

describe('demo --advance-days 14 on HubSpot: the loop report equals the sandbox', () => {
  const demo = advancedDemo('hubspot', { seed: 8 });
  const records = async (type: string): Promise<AdminRecord[]> => {
    const res = await fetch(`${demo.sandbox.url}/_sandbox/hubspot/${type}`, {
      headers: { Authorization: `Bearer ${demo.sandbox.token}` },
    });
    return ((await res.json()) as { results: AdminRecord[] }).results;
  };

  it('reports per tier the SLA-met % and PQL-to-opportunity rate an independent SQL finds in the sandbox', async () => {
    const { result, dir } = demo;
    const report = result.loop!.report;
    expect(result.loop!.simulation!.converted).toBeGreaterThanOrEqual(2);
    const independent = new DuckdbAdapter({ path: ':memory:' });
    await independent.connect();
    try {
      await independent.query(`attach '${path.join(dir, 'pqlsync.duckdb')}' as demo (read_only)`);
      await independent.query(
        'create table task (task_key varchar, contact varchar, status varchar, completed varchar)',
      );
      await independent.query('create table deal (contact varchar, created varchar)');
      const contactOf = (r: AdminRecord) =>
        r.associations.find((a) => a.toObjectType === 'contacts')?.to.id ?? null;
      await independent.insertRows(
        'main.task',
        ['task_key', 'contact', 'status', 'completed'],
        (await records('tasks')).map((t) => [
          t.properties.pqlsync_task_key ?? null,
          contactOf(t),
          t.properties.hs_task_status ?? null,
          t.properties.hs_task_completion_date ?? null,
        ]),
      );
      await independent.insertRows(
        'main.deal',
        ['contact', 'created'],
        (await records('deals')).map((d) => [contactOf(d), d.properties.createdate]),
      );
      const period = `l.logged_at >= '${report.since}'::timestamptz and l.logged_at < '${report.until}'::timestamptz`;
      const { rows } = await independent.query(
        `with logged as (select l.* from demo.pqlsync_state.task_log l where l.sync = 'pql_users' and l.status = 'created' and ${period}),
         sla as (select l.tier, count(*) as created,
                   count(*) filter (where t.status = 'COMPLETED' and t.completed::timestamptz <= l.due_at) as met
                 from logged l left join task t on t.task_key = l.task_key group by l.tier),
         flagged as (select l.tier, l.entity_key, min(l.logged_at) as flagged_at, max(t.contact) as contact
                     from logged l join task t on t.task_key = l.task_key group by l.tier, l.entity_key),
         conv as (select f.tier, count(distinct f.entity_key) as entities,
                    count(distinct case when d.created::timestamptz >= f.flagged_at then f.entity_key end) as opps
                  from flagged f left join deal d on d.contact = f.contact group by f.tier)
         select sla.tier, round(100.0 * met / created, 1) as sla_pct, round(100.0 * opps / entities, 1) as opp_pct
         from sla join conv on conv.tier = sla.tier order by sla.tier`,
      );
      expect(rows.length).toBe(2);
      expect(
        report.byTier
          .map((t) => ({ tier: t.group, sla: t.slaMetPct, opp: t.pqlToOppPct }))
          .sort((a, b) => a.tier.localeCompare(b.tier)),
      ).toEqual(rows.map((r) => ({ tier: r.tier, sla: Number(r.sla_pct), opp: Number(r.opp_pct) })));
    } finally {
      await independent.close();
    }
  });
});
