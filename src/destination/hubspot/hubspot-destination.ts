/**
 * The HubSpot destination: writes a sync's changes to contacts, companies (or any object type with a unique
 * property) through the real `@hubspot/api-client`, 100 inputs per batch call.
 *
 * - Matching: upserts by the sync's match property (`idProperty`): a property with `hasUniqueValue`
 *   (`product_user_id`, `product_account_id`) or, for contacts, `email`. Company `domain` is not unique in
 *   HubSpot, so it cannot be a match key.
 * - Modes: `upsert` and `mirror` use `batch/upsert`; `update` uses `batch/update` by the match property and
 *   never creates; a row that left the model in `mirror` mode is cleared with `batch/update` (never deleted,
 *   never created just to be cleared).
 * - Throttling: this destination holds its portal's limiter (config `rate_limit`, default 100 requests / 10 s,
 *   shared with the routing task writer: `hubspot-limiter.ts`), because one write can be two requests and
 *   preflight calls count too. The limiter keeps HubSpot's rolling window from the `X-HubSpot-RateLimit-*`
 *   headers; a ten-secondly 429 pauses every request for the `Retry-After` (else until the window frees a slot)
 *   and is thrown as transient so the batch writer retries; a daily 429, or a daily budget the headers say is
 *   spent, stops the run. The client's own retries are off: they wait 10 s blindly, process-wide.
 *
 * Glossary:
 * - input: one element of a batch body's `inputs`, `{idProperty, id, objectWriteTraceId, properties}`; the
 *   trace id is the change's key, so a 207's errors name the record they belong to.
 */
import type { Client } from '@hubspot/api-client';
import { createHubspotClient, hubspotBaseUrl, type HubspotClient } from './hubspot-client.js';
import { SYNC_MODES, type DestinationConfig } from '../../config/config-schema.js';
import { acquireHubspotLimiter, type LimiterLease } from './hubspot-limiter.js';
import { closest, distance } from 'fastest-levenshtein';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { registerSecret } from '../../errors/secrets.js';
import type {
  Change,
  Destination,
  DestinationCapabilities,
  RecordOutcome,
  SyncTarget,
  WriteBatch,
} from '../destination.js';
import { errorBodyParts, hubspotError, readableMessage } from './hubspot-errors.js';
import { checkProperties, describeDefinition, type PropertyDefinition } from './hubspot-properties.js';
import { formatHubspotValue, type PropertyInfo } from './hubspot-values.js';

export type HubspotDestinationConfig = Extract<DestinationConfig, { type: 'hubspot' }>;

/** HubSpot's batch endpoints accept at most 100 inputs per request. */
export const HUBSPOT_BATCH_SIZE = 100;
/** Batches in flight at once; HubSpot's guidance keeps a private app near 4 concurrent requests. */
const CONCURRENCY = 4;

export interface HubspotDestinationOptions {
  /** The destination's name in the config (named in errors). */
  name: string;
  config: HubspotDestinationConfig;
  /** `--create-properties`: create missing properties whatever the config says. (Default: the config's `create_properties`) */
  createProperties?: boolean;
  /** Clock in milliseconds of the portal's limiter, when this destination creates it. (Default: Date.now) */
  now?: () => number;
  /** Waits out a rate-limit pause; tests move a sandbox clock instead. (Default: setTimeout) */
  sleep?: (ms: number) => Promise<void>;
}

type UpsertInput = {
  idProperty: string;
  id: string;
  objectWriteTraceId: string;
  properties: Record<string, string>;
};
interface Prepared {
  change: Change;
  input: UpsertInput;
}
interface BatchResult {
  results: Array<{
    id: string;
    _new?: boolean;
    objectWriteTraceId?: string;
    properties: Record<string, string | null>;
  }>;
  errors?: Array<{
    category: string;
    message: string;
    context?: Record<string, string[]>;
    errors?: Array<{ code?: string }>;
  }>;
}

export class HubspotDestination implements Destination {
  readonly type = 'hubspot';
  private readonly client: Client;
  private readonly http: HubspotClient;
  private readonly propertyApis: Client['crm']['properties'];
  private readonly limiter: LimiterLease;
  private readonly baseUrl: string;
  private readonly createProperties: boolean;
  /** objectType → property name → info, from the last preflight. */
  private readonly properties = new Map<string, Map<string, PropertyInfo>>();
  /** The input `checkChange` made for a change it passed, with the property definitions it was made from. */
  private readonly checked = new WeakMap<
    Change,
    { target: SyncTarget; props: Map<string, PropertyInfo>; input: UpsertInput }
  >();
  private calls = 0;

  constructor(private readonly options: HubspotDestinationOptions) {
    const { config } = options;
    registerSecret(config.access_token);
    this.createProperties = options.createProperties ?? config.create_properties;
    const baseUrl = hubspotBaseUrl(config);
    this.limiter = acquireHubspotLimiter(baseUrl, config.access_token, config.rate_limit, {
      now: options.now ?? Date.now,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    });
    // The properties APIs now, for the preflight; the records' batch API (the larger part of the client's code to
    // load) at the first write, after the run's first request.
    this.http = createHubspotClient(
      config,
      (c) => [c.crm.properties.coreApi, c.crm.properties.groupsApi, c.crm.properties.batchApi],
      (status, headers) => this.limiter.limiter.observe(status, headers),
    );
    this.baseUrl = this.http.baseUrl;
    this.client = this.http.client;
    this.propertyApis = this.client.crm.properties;
  }

  capabilities(_target: SyncTarget, _plannedChanges: number): DestinationCapabilities {
    // No `rateLimit` here: the limiter above counts every request, which the writer cannot see.
    return { batchSize: HUBSPOT_BATCH_SIZE, concurrency: CONCURRENCY, modes: SYNC_MODES };
  }

  async preflight(target: SyncTarget, options: { readOnly?: boolean } = {}): Promise<void> {
    const object = target.object;
    const existing = await this.loadProperties(target).catch((err: unknown) => {
      throw unknownObjectError(err, target, this.options.name) ?? err;
    });
    const declared = this.options.config.properties?.[object] ?? {};
    const check = checkProperties(target, existing, declared);
    const group = this.options.config.property_group;
    const lines = check.problems.map((p) => `  - ${p}`);
    if (!this.createProperties) {
      for (const d of check.missing) lines.push(`  - missing property ${describeDefinition(d)}`);
    }
    if (lines.length > 0) {
      const hint =
        check.missing.length > 0 && !this.createProperties
          ? `set create_properties: true on destination '${this.options.name}' (or pass --create-properties) to create the missing properties in group '${group}', or create them in HubSpot as listed`
          : 'fix the properties in HubSpot (Settings > Properties) or change the sync mapping';
      throw new PqlsyncError(
        'DESTINATION_PREFLIGHT_FAILED',
        `HubSpot ${object} properties do not fit sync ${target.sync} (destination ${this.options.name}):\n${lines.join('\n')}`,
        { location: { sync: target.sync, path: `syncs.${target.sync}.fields` }, hint },
      );
    }
    // A plan reads only: the properties a run would create are fine, and nothing is cached for the run.
    if (options.readOnly) return;
    if (check.missing.length > 0) {
      await this.ensureGroup(target, group);
      for (const info of await this.createMissing(target, group, check.missing))
        existing.set(info.name, info);
    }
    this.properties.set(object, existing);
  }

  checkChange(target: SyncTarget, change: Change): RecordOutcome | undefined {
    const props = this.properties.get(target.object);
    if (!props) return undefined;
    const prepared = prepareInput(target, props, change);
    // The batch writer checks every change before it batches it: `write` takes the input made here.
    if ('input' in prepared) this.checked.set(change, { target, props, input: prepared.input });
    return 'outcome' in prepared ? prepared.outcome : undefined;
  }

  async write(batch: WriteBatch): Promise<RecordOutcome[]> {
    const { target, changes } = batch;
    let props = this.properties.get(target.object);
    if (!props) {
      await this.preflight(target);
      props = this.properties.get(target.object) ?? new Map<string, PropertyInfo>();
    }
    const outcomes: RecordOutcome[] = [];
    const upserts: Prepared[] = [];
    const updates: Prepared[] = [];
    const seen = new Map<string, string>();
    for (const change of changes) {
      const checked = this.checked.get(change);
      const prepared =
        checked?.props === props && checked.target === target
          ? { input: checked.input }
          : prepareInput(target, props, change);
      if ('outcome' in prepared) {
        outcomes.push(prepared.outcome);
        continue;
      }
      const norm = normalizeMatch(target, change.matchValue);
      const twin = seen.get(norm);
      if (twin !== undefined) {
        // HubSpot refuses a whole batch that names one id twice.
        outcomes.push({
          key: change.key,
          status: 'rejected',
          reason: `${target.matchField} ${change.matchValue} is also the match value of record ${twin}`,
          code: 'DUPLICATE_MATCH_VALUE',
        });
        continue;
      }
      seen.set(norm, change.key);
      (target.mode === 'update' || change.kind === 'removed' ? updates : upserts).push({
        change,
        input: prepared.input,
      });
    }
    if (upserts.length > 0) outcomes.push(...(await this.send('upsert', target, upserts)));
    if (updates.length > 0) outcomes.push(...(await this.send('update', target, updates)));
    return outcomes;
  }

  apiCalls(): number {
    return this.calls;
  }

  async close(): Promise<void> {
    // Sockets first: a request still waiting for an answer fails now instead of holding the limiter's stop.
    this.http.close();
    await this.limiter.release();
  }

  // ---- requests ----------------------------------------------------------------------------------------

  /** Sends one request through the limiter, after any rate-limit pause; translates what it throws. */
  private async request<T>(
    request: string,
    target: SyncTarget,
    splittable: boolean,
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      return await this.limiter.limiter.schedule(() => {
        this.calls++;
        return fn();
      });
    } catch (err) {
      throw hubspotError(err, {
        destination: this.options.name,
        request,
        sync: target.sync,
        baseUrl: this.baseUrl,
        splittable,
        timeoutMs: this.options.config.request_timeout_ms,
      });
    }
  }

  private async send(
    kind: 'upsert' | 'update',
    target: SyncTarget,
    items: Prepared[],
  ): Promise<RecordOutcome[]> {
    const object = target.object;
    const body = { inputs: items.map((i) => i.input) };
    const batchApi = this.http.use((c) => c.crm.objects.batchApi);
    const response: BatchResult = await this.request(
      `POST /crm/v3/objects/${object}/batch/${kind}`,
      target,
      true,
      async (): Promise<BatchResult> =>
        kind === 'upsert' ? await batchApi.upsert(object, body) : await batchApi.update(object, body),
    );
    return this.outcomesOf(response, target, items);
  }

  /** One outcome per input: 207 errors by trace id (or id), results by trace id (or the match property). */
  private outcomesOf(response: BatchResult, target: SyncTarget, items: Prepared[]): RecordOutcome[] {
    const byKey = new Map(items.map((i) => [i.change.key, i]));
    const byMatch = new Map(items.map((i) => [normalizeMatch(target, i.change.matchValue), i]));
    const outcomes = new Map<string, RecordOutcome>();
    const unattributed: string[] = [];
    for (const error of response.errors ?? []) {
      const context = error.context ?? {};
      const keys = new Set<string>();
      for (const k of context.objectWriteTraceId ?? []) if (byKey.has(k)) keys.add(k);
      if (keys.size === 0) {
        for (const id of context.ids ?? []) {
          const item = byMatch.get(normalizeMatch(target, id));
          if (item) keys.add(item.change.key);
        }
      }
      const reason = `${error.category}: ${readableMessage(error.message)}`;
      if (keys.size === 0) unattributed.push(reason);
      for (const key of keys) {
        const item = byKey.get(key);
        if (error.category === 'OBJECT_NOT_FOUND' && item?.change.kind === 'removed') {
          // Mirror mode clears a record that is not there: nothing to clear.
          outcomes.set(key, { key, status: 'applied' });
        } else if (error.category === 'OBJECT_NOT_FOUND' && target.mode === 'update') {
          outcomes.set(key, {
            key,
            status: 'rejected',
            reason: `no ${target.object} record has ${target.matchField} ${item?.change.matchValue ?? key} (mode update never creates records)`,
            code: 'OBJECT_NOT_FOUND',
          });
        } else {
          outcomes.set(key, {
            key,
            status: 'rejected',
            reason,
            code: error.errors?.[0]?.code ?? error.category,
          });
        }
      }
    }
    for (const result of response.results) {
      const traced = result.objectWriteTraceId;
      const matched = result.properties[target.matchField];
      const item =
        (traced !== undefined ? byKey.get(traced) : undefined) ??
        (matched ? byMatch.get(normalizeMatch(target, matched)) : undefined);
      if (!item || outcomes.has(item.change.key)) continue;
      outcomes.set(item.change.key, {
        key: item.change.key,
        status: 'applied',
        destinationId: result.id,
        ...(result._new !== undefined ? { created: result._new } : {}),
      });
    }
    return items.map(({ change }) => {
      const known = outcomes.get(change.key);
      if (known) return known;
      if (unattributed.length > 0) {
        return {
          key: change.key,
          status: 'rejected',
          reason: unattributed.join('; '),
          code: 'HUBSPOT_ERROR',
        };
      }
      return { key: change.key, status: 'retryable', reason: 'HubSpot returned no result for this record' };
    });
  }

  // ---- properties --------------------------------------------------------------------------------------

  private async loadProperties(target: SyncTarget): Promise<Map<string, PropertyInfo>> {
    const object = target.object;
    const response = await this.request(`GET /crm/v3/properties/${object}`, target, false, () =>
      this.propertyApis.coreApi.getAll(object, false),
    );
    return new Map(response.results.map((p) => [p.name, propertyInfo(p)]));
  }

  private async ensureGroup(target: SyncTarget, group: string): Promise<void> {
    const object = target.object;
    const path = `/crm/v3/properties/${object}/groups`;
    const groups = await this.request(`GET ${path}`, target, false, () =>
      this.propertyApis.groupsApi.getAll(object),
    );
    if (groups.results.some((g) => g.name === group)) return;
    try {
      await this.request(`POST ${path}`, target, false, () =>
        this.propertyApis.groupsApi.create(object, {
          name: group,
          label: group === 'pqlsync' ? 'PQL scores (pqlsync)' : group,
          displayOrder: -1,
        }),
      );
    } catch (err) {
      // 409: created meanwhile by another run.
      if (!(err instanceof PqlsyncError && err.details?.status === 409)) throw err;
    }
  }

  private async createMissing(
    target: SyncTarget,
    group: string,
    missing: PropertyDefinition[],
  ): Promise<PropertyInfo[]> {
    type CreateInput = Parameters<Client['crm']['properties']['batchApi']['create']>[1]['inputs'][number];
    const inputs: CreateInput[] = missing.map((d) => ({
      name: d.name,
      label: d.label,
      type: d.type as CreateInput['type'],
      fieldType: d.fieldType as CreateInput['fieldType'],
      groupName: group,
      description: d.description,
      hasUniqueValue: d.unique,
      options: (d.type === 'bool' ? ['true', 'false'] : d.options).map((value, displayOrder) => ({
        value,
        label:
          d.type === 'bool'
            ? value === 'true'
              ? 'Yes'
              : 'No'
            : value.charAt(0).toUpperCase() + value.slice(1),
        displayOrder,
        hidden: false,
      })),
    }));
    const object = target.object;
    const response = (await this.request(
      `POST /crm/v3/properties/${object}/batch/create`,
      target,
      false,
      () => this.propertyApis.batchApi.create(object, { inputs }),
    )) as {
      results: Parameters<typeof propertyInfo>[0][];
      errors?: Array<{ category: string; message: string }>;
    };
    const failed = (response.errors ?? []).filter((e) => e.category !== 'OBJECT_ALREADY_EXISTS');
    if (failed.length > 0) {
      throw new PqlsyncError(
        'DESTINATION_PREFLIGHT_FAILED',
        `HubSpot refused to create ${object} properties for sync ${target.sync}:\n${failed.map((e) => `  - ${errorBodyParts(e).message}`).join('\n')}`,
        { location: { sync: target.sync, path: `destinations.${this.options.name}.properties` } },
      );
    }
    const created = response.results.map(propertyInfo);
    if (created.length < missing.length) {
      // Some existed already (another run created them): read them as they are.
      const all = await this.loadProperties(target);
      return missing.map((d) => all.get(d.name)).filter((p): p is PropertyInfo => p !== undefined);
    }
    return created;
  }
}

/**
 * The batch input for one change, its values formatted by the property definitions preflight read; or the
 * change's rejection when a value cannot take its property's format (HubSpot would refuse the whole batch).
 */
function prepareInput(
  target: SyncTarget,
  props: ReadonlyMap<string, PropertyInfo>,
  change: Change,
): { input: UpsertInput } | { outcome: RecordOutcome } {
  const reject = (reason: string, code: string) => ({
    outcome: { key: change.key, status: 'rejected' as const, reason, code },
  });
  if (change.matchValue === '') {
    return reject(
      `no value for the match property ${target.matchField} (model column ${target.matchColumn})`,
      'MATCH_VALUE_MISSING',
    );
  }
  const properties: Record<string, string> = {};
  const bad: string[] = [];
  for (const [field, value] of Object.entries(change.values)) {
    const info = props.get(field);
    if (!info) {
      bad.push(`${field}: not a ${target.object} property in HubSpot`);
      continue;
    }
    const formatted = formatHubspotValue(value, info);
    if (formatted.ok) properties[field] = formatted.text;
    else bad.push(`${field}: ${formatted.reason}`);
  }
  if (bad.length > 0) return reject(bad.join('; '), 'INVALID_VALUE');
  // HubSpot echoes the properties it wrote: with the match value among them, a result whose trace id is
  // missing can still be matched to its record.
  properties[target.matchField] ??= change.matchValue;
  return {
    input: {
      idProperty: target.matchField,
      id: change.matchValue,
      objectWriteTraceId: change.key,
      properties,
    },
  };
}

/** The fields of a HubSpot property definition this destination reads. */
function propertyInfo(p: {
  name: string;
  type: string;
  fieldType: string;
  groupName: string;
  options: Array<{ value: string }>;
  hasUniqueValue?: boolean;
  calculated?: boolean;
  externalOptions?: boolean;
  modificationMetadata?: { readOnlyValue: boolean };
}): PropertyInfo {
  return {
    name: p.name,
    type: p.type,
    fieldType: p.fieldType,
    groupName: p.groupName,
    options: p.options.map((o) => o.value),
    hasUniqueValue: p.hasUniqueValue === true,
    readOnly: p.modificationMetadata?.readOnlyValue === true || p.calculated === true,
    externalOptions: p.externalOptions === true,
  };
}

/** HubSpot compares emails without case; other unique values as they are. */
function normalizeMatch(target: SyncTarget, value: string): string {
  return target.matchField === 'email' ? value.trim().toLowerCase() : value;
}

/** HubSpot's standard CRM object types, for "did you mean" when an object is not one HubSpot has. */
const STANDARD_OBJECTS = [
  'contacts',
  'companies',
  'deals',
  'tickets',
  'products',
  'line_items',
  'quotes',
  'calls',
  'emails',
  'meetings',
  'notes',
  'tasks',
];

/**
 * A 400/404 on the object's property list means HubSpot has no such object type (`contact`, `Lead`): a config
 * error naming the sync's object and the type meant. Undefined for any other error.
 */
function unknownObjectError(err: unknown, target: SyncTarget, destination: string): PqlsyncError | undefined {
  if (!(err instanceof PqlsyncError)) return undefined;
  const status = err.details?.status;
  if (status !== 400 && status !== 404) return undefined;
  const meant = closest(target.object.toLowerCase(), STANDARD_OBJECTS);
  const close = distance(target.object.toLowerCase(), meant) <= 3;
  return new PqlsyncError(
    'DESTINATION_PREFLIGHT_FAILED',
    `HubSpot has no object type '${target.object}' (destination ${destination}): ${err.message}`,
    {
      location: { sync: target.sync, path: `syncs.${target.sync}.object` },
      hint: close
        ? `did you mean '${meant}'? HubSpot object types are plural and lower case`
        : `use a standard object type (${STANDARD_OBJECTS.slice(0, 4).join(', ')}...) or a custom object's type id (2-...)`,
    },
  );
}
