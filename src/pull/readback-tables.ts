/**
 * The read-back tables in the state schema: what pqlsync learns back from the CRM after the handoff. Shared by
 * every sync of a destination (a task, lead or deal belongs to the CRM, not to one sync), keyed by destination name.
 *
 * Glossary:
 * - crm_tasks: the tasks pqlsync created (found by their task key): status, closed or not, completion time, owner,
 *   the record it is about (person_id: Salesforce WhoId, else WhatId; HubSpot's associated contact or company),
 *   its account (account_id: Salesforce Task.AccountId, derived from WhatId or the WhoId's Contact; HubSpot's
 *   associated company),
 *   outcome (Salesforce CallDisposition, HubSpot hs_task_status at close), due date.
 * - crm_people: the leads/contacts/accounts (HubSpot contacts/companies) pqlsync scored: lead status or lifecycle
 *   stage, converted or not and when, the converted opportunity, the account.
 * - crm_opportunities: opportunities/deals on those people's accounts (or associated with them): stage, amount,
 *   closed, won, created and close dates.
 * - crm_watermarks: per destination and CRM object, the newest modification time read so far (Salesforce
 *   SystemModstamp, HubSpot hs_lastmodifieddate); the next pull asks only for records changed after it.
 * - ReadbackRow: one record as a row of its table (column → JS value).
 */
import { SqlBuilder } from '../warehouse/sql-dialect.js';
import { toDate, type StateStore } from '../state/state-store.js';

export const READBACK_TABLES = ['crm_tasks', 'crm_people', 'crm_opportunities'] as const;
export type ReadbackTable = (typeof READBACK_TABLES)[number];

type ColumnType = 'text' | 'timestamp' | 'boolean' | 'double';

/** Columns per table, in order; the first two (destination + id) are the key. */
export const READBACK_COLUMNS: Record<ReadbackTable, ReadonlyArray<readonly [string, ColumnType]>> = {
  crm_tasks: [
    ['destination', 'text'],
    ['task_id', 'text'],
    ['task_key', 'text'],
    ['status', 'text'],
    ['is_closed', 'boolean'],
    ['completed_at', 'timestamp'],
    ['owner_id', 'text'],
    ['person_id', 'text'],
    ['account_id', 'text'],
    ['outcome', 'text'],
    ['due_date', 'text'],
    ['created_at', 'timestamp'],
    ['modified_at', 'timestamp'],
  ],
  crm_people: [
    ['destination', 'text'],
    ['record_id', 'text'],
    ['object', 'text'],
    ['match_value', 'text'],
    ['status', 'text'],
    ['is_converted', 'boolean'],
    ['converted_at', 'timestamp'],
    ['converted_opportunity_id', 'text'],
    ['account_id', 'text'],
    ['owner_id', 'text'],
    ['modified_at', 'timestamp'],
  ],
  crm_opportunities: [
    ['destination', 'text'],
    ['opportunity_id', 'text'],
    ['account_id', 'text'],
    ['person_id', 'text'],
    ['name', 'text'],
    ['stage', 'text'],
    ['amount', 'double'],
    ['is_closed', 'boolean'],
    ['is_won', 'boolean'],
    ['created_at', 'timestamp'],
    ['close_date', 'text'],
    ['owner_id', 'text'],
    ['modified_at', 'timestamp'],
  ],
};

export type ReadbackRow = Record<string, string | number | boolean | Date | null>;

/** Creates the read-back tables and the watermarks table when missing. */
export async function ensureReadbackTables(state: StateStore): Promise<void> {
  const t = state.d.types;
  await state.wh.ensureSchema(state.schema);
  for (const table of READBACK_TABLES) {
    const cols = READBACK_COLUMNS[table].map(([name, type]) => `${name} ${t[type]}`).join(', ');
    await state.wh.query(`create table if not exists ${state.table(table)} (${cols})`);
    // A table from an earlier layout: add the columns it lacks (their rows keep null until read again).
    const { columns } = await state.wh.query(`select * from ${state.table(table)} where 1 = 0`);
    const have = new Set((columns ?? []).map((c) => c.toLowerCase()));
    for (const [name, type] of READBACK_COLUMNS[table])
      if (columns && !have.has(name))
        await state.wh.query(`alter table ${state.table(table)} add column ${name} ${t[type]}`);
  }
  await state.wh.query(
    `create table if not exists ${state.table('crm_watermarks')} (destination ${t.text} not null,
      object ${t.text} not null, watermark ${t.timestamp}, records ${t.bigint}, pulled_at ${t.timestamp} not null)`,
  );
}

/**
 * Replaces rows by id (delete, then insert, in one transaction) and moves the object's watermark in the same
 * transaction, so a crash leaves either both or neither: a rerun reads the same records again and converges.
 */
export async function upsertReadback(
  state: StateStore,
  table: ReadbackTable,
  destination: string,
  rows: readonly ReadbackRow[],
  watermark: { object: string; value: Date | null; records: number; at: Date },
): Promise<void> {
  const columns = READBACK_COLUMNS[table].map(([name]) => name);
  const idColumn = columns[1] as string;
  const d = state.d;
  await state.wh.transaction(async (tx) => {
    const ids = [...new Set(rows.map((r) => String(r[idColumn])))];
    for (let i = 0; i < ids.length; i += 1000) {
      const b = new SqlBuilder(d);
      await tx.query(
        b.build(
          `delete from ${state.table(table)} where destination = ${b.param(destination, 'string')} and ${d.inList(idColumn, b, ids.slice(i, i + 1000))}`,
        ),
      );
    }
    if (rows.length > 0)
      await tx.insertRows(
        `${state.schema}.${table}`,
        columns,
        rows.map((r) => columns.map((c) => r[c] ?? null)),
      );
    const b = new SqlBuilder(d);
    await tx.query(
      b.build(
        `delete from ${state.table('crm_watermarks')} where destination = ${b.param(destination, 'string')} and object = ${b.param(watermark.object, 'string')}`,
      ),
    );
    await tx.insertRows(
      `${state.schema}.crm_watermarks`,
      ['destination', 'object', 'watermark', 'records', 'pulled_at'],
      [[destination, watermark.object, watermark.value, watermark.records, watermark.at]],
    );
  });
}

/** The watermark of each object of a destination (absent: never pulled). */
export async function readWatermarks(
  state: StateStore,
  destination: string,
): Promise<Map<string, Date | null>> {
  if (!(await state.wh.tableExists(state.schema, 'crm_watermarks'))) return new Map();
  const b = new SqlBuilder(state.d);
  const { rows } = await state.wh.query(
    b.build(
      `select object, watermark from ${state.table('crm_watermarks')} where destination = ${b.param(destination, 'string')}`,
    ),
  );
  return new Map(
    rows.map((r) => [
      String(r.object),
      r.watermark === null || r.watermark === undefined ? null : toDate(r.watermark),
    ]),
  );
}
