/**
 * `pqlsync pull` on HubSpot: the CRM search API on each object's last-modified property (contacts
 * `lastmodifieddate`, other objects `hs_lastmodifieddate`) after the watermark, sorted ascending, 200 a page.
 * Search returns at most 10,000 results per query, so a longer read narrows the window instead of paging on: it
 * starts again from the newest modification time it read (inclusive, skipping the records already read at that
 * time). Tasks are those with a pqlsync task key; people are the sync's object with its match property set; deals
 * are read whole, with their contact and company from the v4 associations batch read.
 */
import type { Client } from '@hubspot/api-client';
import type { DestinationConfig } from '../../config/config-schema.js';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import type { CrmReader, PulledPage, PullObject, ScoredObject } from '../../pull/crm-reader.js';
import type { ReadbackRow } from '../../pull/readback-tables.js';
import { createHubspotClient, type HubspotClient } from './hubspot-client.js';
import { hubspotError } from './hubspot-errors.js';
import { TASK_KEY_PROPERTY } from './hubspot-tasks.js';

type HubspotConfig = Extract<DestinationConfig, { type: 'hubspot' }>;
type SearchRequest = Parameters<Client['crm']['objects']['searchApi']['doSearch']>[1];
interface Found {
  id: string;
  properties: Record<string, string | null>;
}

/** Search pages hold at most 200 records. */
const PAGE = 200;
/** Search returns at most 10,000 results per query (after + limit). */
const MAX_RESULTS = 10_000;
const PEOPLE = ['contacts', 'companies'] as const;

export function modifiedProperty(object: string): string {
  return object === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
}

export class HubspotReader implements CrmReader {
  private readonly hubspot: HubspotClient;
  private requests = 0;

  constructor(private readonly options: { name: string; config: HubspotConfig }) {
    this.hubspot = createHubspotClient(options.config, (c) => [
      c.crm.objects.searchApi,
      c.crm.associations.v4.batchApi,
    ]);
  }

  objects(scored: readonly ScoredObject[]): PullObject[] {
    const people = [...new Set(scored.map((s) => personObject(s.object)))];
    return [
      { object: 'tasks', table: 'crm_tasks' },
      ...people.map((object) => ({ object, table: 'crm_people' as const })),
      { object: 'deals', table: 'crm_opportunities' },
    ];
  }

  async *read(
    object: PullObject,
    scored: readonly ScoredObject[],
    since: Date | null,
  ): AsyncIterable<PulledPage> {
    const type = object.object;
    const destination = this.options.name;
    const modified = modifiedProperty(type);
    const match = scored.find((s) => personObject(s.object) === type)?.matchField;
    const required = type === 'tasks' ? TASK_KEY_PROPERTY : type === 'deals' ? undefined : match;
    const properties =
      type === 'tasks'
        ? [
            TASK_KEY_PROPERTY,
            'hs_task_status',
            'hs_task_completion_date',
            'hubspot_owner_id',
            'hs_timestamp',
            'hs_createdate',
            modified,
          ]
        : type === 'deals'
          ? [
              'dealname',
              'dealstage',
              'amount',
              'hs_is_closed',
              'hs_is_closed_won',
              'createdate',
              'closedate',
              'hubspot_owner_id',
              modified,
            ]
          : [
              match ?? 'hs_object_id',
              'lifecyclestage',
              ...CONVERSION_DATES,
              'hs_lead_status',
              'hubspot_owner_id',
              modified,
            ];
    let lower: { ms: number; inclusive: boolean } | null = since
      ? { ms: since.getTime(), inclusive: false }
      : null;
    let after = 0;
    // The records read at the newest modification time so far: skipped when the window restarts there.
    let newest = -Infinity;
    let atNewest = new Set<string>();
    let skip = new Set<string>();
    for (;;) {
      const request = {
        filterGroups: [
          {
            filters: [
              ...(lower
                ? [
                    {
                      propertyName: modified,
                      operator: lower.inclusive ? 'GTE' : 'GT',
                      value: String(lower.ms),
                    },
                  ]
                : []),
              ...(required ? [{ propertyName: required, operator: 'HAS_PROPERTY' }] : []),
            ],
          },
        ],
        sorts: [{ propertyName: modified, direction: 'ASCENDING' }],
        properties,
        limit: PAGE,
        after: String(after),
      } as unknown as SearchRequest;
      const res = await this.call(`POST /crm/v3/objects/${type}/search`, () =>
        this.hubspot.client.crm.objects.searchApi.doSearch(type, request),
      );
      const found = (res.results as Found[]).filter((r) => !skip.has(r.id));
      for (const r of found) {
        const ms = Date.parse(r.properties[modified] ?? '');
        if (ms > newest) {
          newest = ms;
          atNewest = new Set();
        }
        if (ms === newest) atNewest.add(r.id);
      }
      const rows = await this.toRows(type, found, match, destination, modified);
      yield { rows, ...(found.length > 0 ? { newest: new Date(newest) } : {}) };
      const next = res.paging?.next?.after;
      if (!next) break;
      if (Number(next) + PAGE > MAX_RESULTS) {
        if (lower?.inclusive && lower.ms === newest)
          throw new PqlsyncError(
            'DESTINATION_REQUEST_FAILED',
            `more than ${MAX_RESULTS} HubSpot ${type} share the modification time ${new Date(newest).toISOString()}; search cannot page past them`,
            { hint: 'read them with the CRM export API, then pull again' },
          );
        lower = { ms: newest, inclusive: true };
        skip = new Set(atNewest);
        after = 0;
        continue;
      }
      after = Number(next);
    }
  }

  apiCalls(): number {
    return this.requests;
  }

  async close(): Promise<void> {
    this.hubspot.close();
  }

  private async toRows(
    type: string,
    found: Found[],
    match: string | undefined,
    destination: string,
    modified: string,
  ): Promise<ReadbackRow[]> {
    const p = (r: Found, name: string): string | null => {
      const v = r.properties[name];
      return v === undefined || v === null || v === '' ? null : v;
    };
    if (type === 'tasks') {
      const contacts = await this.associated('tasks', 'contacts', found);
      const companies = await this.associated('tasks', 'companies', found);
      return found.map((r) => ({
        destination,
        task_id: r.id,
        task_key: p(r, TASK_KEY_PROPERTY),
        status: p(r, 'hs_task_status'),
        is_closed: p(r, 'hs_task_status') === 'COMPLETED',
        completed_at: time(p(r, 'hs_task_completion_date')),
        owner_id: p(r, 'hubspot_owner_id'),
        person_id: contacts.get(r.id) ?? companies.get(r.id) ?? null,
        account_id: companies.get(r.id) ?? null,
        outcome: null,
        due_date: p(r, 'hs_timestamp')?.slice(0, 10) ?? null,
        created_at: time(p(r, 'hs_createdate')),
        modified_at: time(p(r, modified)),
      }));
    }
    if (type === 'deals') {
      const contacts = await this.associated('deals', 'contacts', found);
      const companies = await this.associated('deals', 'companies', found);
      return found.map((r) => ({
        destination,
        opportunity_id: r.id,
        account_id: companies.get(r.id) ?? null,
        person_id: contacts.get(r.id) ?? null,
        name: p(r, 'dealname'),
        stage: p(r, 'dealstage'),
        amount: p(r, 'amount') === null ? null : Number(p(r, 'amount')),
        is_closed: p(r, 'hs_is_closed') === 'true',
        is_won: p(r, 'hs_is_closed_won') === 'true',
        created_at: time(p(r, 'createdate')),
        close_date: p(r, 'closedate')?.slice(0, 10) ?? null,
        owner_id: p(r, 'hubspot_owner_id'),
        modified_at: time(p(r, modified)),
      }));
    }
    return found.map((r) => {
      const stage = p(r, 'lifecyclestage');
      const converted = stage === 'opportunity' || stage === 'customer';
      return {
        destination,
        record_id: r.id,
        object: type,
        match_value: match ? p(r, match) : null,
        status: stage,
        is_converted: converted,
        // When it became an opportunity (a deal), else a customer: HubSpot stamps each the first time.
        converted_at: converted
          ? (CONVERSION_DATES.map((d) => time(p(r, d))).find((t) => t !== null) ?? null)
          : null,
        converted_opportunity_id: null,
        account_id: type === 'companies' ? r.id : null,
        owner_id: p(r, 'hubspot_owner_id'),
        modified_at: time(p(r, modified)),
      };
    });
  }

  /** The first associated record of `to` per record id (v4 batch read, 1,000 ids a call). */
  private async associated(from: string, to: string, found: Found[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < found.length; i += 1000) {
      const inputs = found.slice(i, i + 1000).map((r) => ({ id: r.id }));
      if (inputs.length === 0) continue;
      const res = await this.call(`POST /crm/v4/associations/${from}/${to}/batch/read`, () =>
        this.hubspot.client.crm.associations.v4.batchApi.getPage(from, to, { inputs }),
      );
      for (const r of res.results) {
        const first = r.to[0];
        if (first) out.set(String(r._from.id), String(first.toObjectId));
      }
    }
    return out;
  }

  private async call<T>(request: string, fn: () => Promise<T>): Promise<T> {
    this.requests += 1;
    try {
      return await fn();
    } catch (err) {
      throw hubspotError(err, { destination: this.options.name, request, baseUrl: this.hubspot.baseUrl });
    }
  }
}

function personObject(object: string): string {
  const found = PEOPLE.find((p) => p === object.toLowerCase());
  if (!found)
    throw new PqlsyncError(
      'CONFIG_INVALID',
      `pull reads back contacts and companies syncs; '${object}' is neither`,
      {
        hint: 'leave this sync out of pull, or sync to contacts or companies',
      },
    );
  return found;
}

/**
 * The lifecycle-stage dates that say when a contact or company converted, first found first. Portals name them
 * `hs_lifecyclestage_<stage>_date` ("Became an Opportunity Date"); newer ones also, or instead, keep
 * `hs_v2_date_entered_<stage>` ("Date entered 'Opportunity (Lifecycle Stage Pipeline)'"). Both are asked for: a
 * property a portal does not define is left out of the answer, not refused.
 */
const CONVERSION_DATES = [
  'hs_lifecyclestage_opportunity_date',
  'hs_v2_date_entered_opportunity',
  'hs_lifecyclestage_customer_date',
  'hs_v2_date_entered_customer',
];

function time(v: string | null): Date | null {
  if (v === null) return null;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isNaN(t) ? null : new Date(t);
}
