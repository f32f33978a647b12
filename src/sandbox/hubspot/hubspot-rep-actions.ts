/**
 * What reps do in HubSpot after pqlsync hands them a task, as sandbox admin actions (`POST /_sandbox/hubspot/...`):
 * complete a task (`hs_task_status` COMPLETED, `hs_task_completion_date`), open a deal for a contact (associated
 * with the contact and its company; the contact's lifecycle stage becomes `opportunity`), move a deal to another
 * stage (`closedwon` makes the contact a `customer`). Every write sets the object's last-modified property with the
 * sandbox clock, so a search on it finds the change; the business times (completion, the deal's createdate) may be
 * given, so the demo can play out days of work at once.
 */
import { DEAL_STAGES, SYSTEM_PROPERTIES, type ObjectType } from './hubspot-schema.js';
import type { HubspotRecord, HubspotStore } from './hubspot-store.js';

export class HubspotRepActionError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

function found(store: HubspotStore, type: ObjectType, id: string): HubspotRecord {
  const record = store.records[type].get(id);
  if (!record || record.archived) throw new HubspotRepActionError(404, `no ${type} record with id ${id}`);
  return record;
}

function time(value: unknown, now: Date, field: string): string {
  if (value === undefined) return now.toISOString();
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(t))
    throw new HubspotRepActionError(
      400,
      `${field} must be an ISO-8601 date-time, got ${JSON.stringify(value)}`,
    );
  return new Date(t).toISOString();
}

function touch(
  store: HubspotStore,
  type: ObjectType,
  record: HubspotRecord,
  values: Record<string, string>,
  now: Date,
): void {
  const stamp = now.toISOString();
  store.assign(type, record, { ...values, [SYSTEM_PROPERTIES[type].modified]: stamp });
  record.updatedAt = stamp;
}

/** `tasks/{id}/complete` `{completedAt?}`. */
export function completeTask(
  store: HubspotStore,
  id: string,
  body: Record<string, unknown>,
  now: Date,
): HubspotRecord {
  const task = found(store, 'tasks', id);
  touch(
    store,
    'tasks',
    task,
    { hs_task_status: 'COMPLETED', hs_task_completion_date: time(body.completedAt, now, 'completedAt') },
    now,
  );
  return task;
}

/** `contacts/{id}/deal` `{amount?, createdAt?, dealstage?}`: a new deal for the contact (and its company). */
export function openDeal(
  store: HubspotStore,
  id: string,
  body: Record<string, unknown>,
  now: Date,
): HubspotRecord {
  const contact = found(store, 'contacts', id);
  const stage = typeof body.dealstage === 'string' ? body.dealstage : 'qualifiedtobuy';
  checkStage(stage);
  const created = time(body.createdAt, now, 'createdAt');
  const dealId = store.takeId();
  const stamp = now.toISOString();
  const deal: HubspotRecord = {
    id: dealId,
    properties: {
      dealname: `${contact.properties.company ?? contact.properties.lastname ?? dealId} - product-led`,
      dealstage: stage,
      pipeline: 'default',
      ...(typeof body.amount === 'number' ? { amount: String(body.amount) } : {}),
      ...closedFlags(stage),
      ...(contact.properties.hubspot_owner_id
        ? { hubspot_owner_id: contact.properties.hubspot_owner_id }
        : {}),
      createdate: created,
      hs_lastmodifieddate: stamp,
      hs_object_id: dealId,
    },
    // The record's own creation is now (search indexes it from then); `createdate` is the business time given.
    createdAt: stamp,
    updatedAt: stamp,
    archived: false,
  };
  store.insert('deals', deal);
  store.addEdge({ fromType: 'deals', fromId: dealId, toType: 'contacts', toId: contact.id, typeId: 3 });
  for (const company of store.edgesOf('contacts', contact.id, 'companies', (t) => t))
    store.addEdge({
      fromType: 'deals',
      fromId: dealId,
      toType: 'companies',
      toId: company.toId,
      typeId: 341,
    });
  // The contact became an opportunity when the deal was created (its business time, not the sandbox clock).
  touch(
    store,
    'contacts',
    contact,
    {
      lifecyclestage: 'opportunity',
      ...(contact.properties.hs_lifecyclestage_opportunity_date
        ? {}
        : { hs_lifecyclestage_opportunity_date: created }),
    },
    now,
  );
  return deal;
}

/** `deals/{id}/stage` `{dealstage}`; a won deal makes its contacts customers. */
export function moveDeal(
  store: HubspotStore,
  id: string,
  body: Record<string, unknown>,
  now: Date,
): HubspotRecord {
  const deal = found(store, 'deals', id);
  const stage = body.dealstage;
  if (typeof stage !== 'string') throw new HubspotRepActionError(400, 'dealstage is required');
  checkStage(stage);
  touch(store, 'deals', deal, { dealstage: stage, ...closedFlags(stage) }, now);
  if (stage === 'closedwon')
    for (const c of store.edgesOf('deals', deal.id, 'contacts', (t) => t)) {
      const contact = store.records.contacts.get(c.toId);
      if (contact) touch(store, 'contacts', contact, { lifecyclestage: 'customer' }, now);
    }
  return deal;
}

function checkStage(stage: string): void {
  if (!(DEAL_STAGES as readonly string[]).includes(stage))
    throw new HubspotRepActionError(400, `dealstage '${stage}' is not one of ${DEAL_STAGES.join(', ')}`);
}

function closedFlags(stage: string): Record<string, string> {
  const closed = stage === 'closedwon' || stage === 'closedlost';
  return { hs_is_closed: String(closed), hs_is_closed_won: String(stage === 'closedwon') };
}
