/**
 * The CRM's owners by id, kept in the state schema (`crm_owners`) so the loop report can show names: Salesforce
 * `User.Name`, HubSpot owners' `firstName lastName`. The router lists the owners once per routed run anyway (to
 * resolve and round-robin them); it records that list here, replacing the destination's rows, at no extra call.
 */
import type { CrmOwner } from '../routing/task-writer.js';
import type { StateStore } from '../state/state-store.js';
import { SqlBuilder } from '../warehouse/sql-dialect.js';

const TABLE = 'crm_owners';

/** Replaces the destination's owners with `owners` (one transaction). */
export async function recordOwners(
  state: StateStore,
  destination: string,
  owners: readonly CrmOwner[],
  at: Date,
): Promise<void> {
  const t = state.d.types;
  await state.wh.query(
    `create table if not exists ${state.table(TABLE)} (destination ${t.text} not null, owner_id ${t.text} not null,
      name ${t.text}, email ${t.text}, active ${t.boolean}, listed_at ${t.timestamp} not null)`,
  );
  await state.wh.transaction(async (tx) => {
    const b = new SqlBuilder(state.d);
    await tx.query(
      b.build(`delete from ${state.table(TABLE)} where destination = ${b.param(destination, 'string')}`),
    );
    if (owners.length > 0)
      await tx.insertRows(
        `${state.schema}.${TABLE}`,
        ['destination', 'owner_id', 'name', 'email', 'active', 'listed_at'],
        owners.map((o) => [destination, o.id, o.name, o.email, o.active, at]),
      );
  });
}

/** Owner names by id for a destination (empty when no routed run recorded them). */
export async function ownerNames(state: StateStore, destination: string): Promise<Map<string, string>> {
  if (!(await state.wh.tableExists(state.schema, TABLE))) return new Map();
  const b = new SqlBuilder(state.d);
  const { rows } = await state.wh.query(
    b.build(
      `select owner_id, name from ${state.table(TABLE)} where destination = ${b.param(destination, 'string')}`,
    ),
  );
  return new Map(rows.filter((r) => r.name !== null).map((r) => [String(r.owner_id), String(r.name)]));
}
