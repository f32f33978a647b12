/**
 * Routing's HubSpot side, through the real `@hubspot/api-client`: owners from `GET /crm/v3/owners` (archived
 * ones are inactive), records by the sync's unique match property, and tasks keyed by the task property
 * `pqlsync_task_key` (created on first use with `hasUniqueValue`, so HubSpot itself refuses a second task with
 * the same key). Before creating, the batch's keys are read by that property (`batch/read` with `idProperty`:
 * exact, no search-index lag): tasks that exist already (sent by a run that crashed before its commit) are
 * taken as they are, the rest are created with their contact (204) and company (192) associations.
 *
 * This writer draws from the same limiter as the destination of the same portal (`hubspot-limiter.ts`: HubSpot
 * counts the app's requests together); routing calls are few (a read, a create and perhaps an owner update per
 * batch of tasks), and a ten-secondly 429 is retried after the window.
 */
import type { Client } from '@hubspot/api-client';
import { createHubspotClient, hubspotBaseUrl, type HubspotClient } from './hubspot-client.js';
import pRetry, { AbortError } from 'p-retry';
import { acquireHubspotLimiter, type LimiterLease } from './hubspot-limiter.js';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { registerSecret } from '../../errors/secrets.js';
import type {
  AccountRecord,
  CrmOwner,
  FieldChange,
  OwnerChange,
  RoutedRecord,
  TaskOutcome,
  TaskSpec,
  TaskWriter,
} from '../../routing/task-writer.js';
import type { SyncTarget } from '../destination.js';
import type { HubspotDestinationConfig } from './hubspot-destination.js';
import { hubspotError, readableMessage } from './hubspot-errors.js';

/** The unique task property that holds pqlsync's task key. */
export const TASK_KEY_PROPERTY = 'pqlsync_task_key';
/** HubSpot's batch endpoints accept at most 100 inputs per request. */
const BATCH = 100;
/** HubSpot-defined association type ids (tasks guide): task→contact 204, task→company 192. */
const TASK_TO_CONTACT = 204;
const TASK_TO_COMPANY = 192;
const PRIORITY = { high: 'HIGH', normal: 'MEDIUM', low: 'LOW' } as const;

export interface HubspotTaskWriterOptions {
  name: string;
  config: HubspotDestinationConfig;
  /** Backoff of transient request failures. (Default: 3 attempts from 1,000 ms) */
  retry?: { attempts: number; minDelayMs: number };
}

interface BatchResponse {
  results: Array<{ id: string; properties: Record<string, string | null> }>;
  errors?: Array<{
    category: string;
    message: string;
    context?: Record<string, string[]>;
  }>;
}

type CreateInput = Parameters<Client['crm']['objects']['batchApi']['create']>[1]['inputs'][number];

export class HubspotTaskWriter implements TaskWriter {
  private readonly client: Client;
  private readonly http: HubspotClient;
  private readonly limiter: LimiterLease;
  private readonly baseUrl: string;
  private calls = 0;
  private keyPropertyReady = false;

  constructor(private readonly options: HubspotTaskWriterOptions) {
    const { config } = options;
    registerSecret(config.access_token);
    const baseUrl = hubspotBaseUrl(config);
    this.limiter = acquireHubspotLimiter(baseUrl, config.access_token, config.rate_limit);
    this.http = createHubspotClient(
      config,
      (c) => [c.crm.owners.ownersApi, c.crm.objects.batchApi, c.crm.properties.coreApi],
      (status, headers) => this.limiter.limiter.observe(status, headers),
    );
    this.baseUrl = this.http.baseUrl;
    this.client = this.http.client;
  }

  async listOwners(): Promise<CrmOwner[]> {
    const owners: CrmOwner[] = [];
    for (const archived of [false, true]) {
      let after: string | undefined;
      // Bounded: 500 owners per page; 200 pages is far beyond any portal.
      for (let page = 0; page < 200; page++) {
        const res = await this.request('GET /crm/v3/owners', false, () =>
          this.client.crm.owners.ownersApi.getPage(undefined, after, 500, archived),
        );
        for (const o of res.results) {
          const name = [o.firstName, o.lastName].filter(Boolean).join(' ');
          owners.push({ id: o.id, email: o.email ?? '', name: name || (o.email ?? o.id), active: !archived });
        }
        after = res.paging?.next?.after;
        if (!after) break;
      }
    }
    return owners;
  }

  async findRecords(target: SyncTarget, matchValues: readonly string[]): Promise<Map<string, RoutedRecord>> {
    const found = await this.readBy(target.object, target.matchField, matchValues, ['hubspot_owner_id']);
    const out = new Map<string, RoutedRecord>();
    for (const v of matchValues) {
      const r = found.get(norm(target.matchField, v));
      if (r) out.set(v, { id: r.id, ownerId: text(r.properties.hubspot_owner_id), object: target.object });
    }
    return out;
  }

  async findAccounts(field: string, values: readonly string[]): Promise<Map<string, AccountRecord>> {
    const found = await this.readBy('companies', field, values, ['hubspot_owner_id']);
    const out = new Map<string, AccountRecord>();
    for (const v of values) {
      const r = found.get(norm(field, v));
      if (r) out.set(v, { id: r.id, ownerId: text(r.properties.hubspot_owner_id) });
    }
    return out;
  }

  readonly accountObject = 'companies';

  async setOwners(target: SyncTarget, changes: readonly OwnerChange[]): Promise<Map<string, string>> {
    return this.updateRecords(
      target,
      changes.map((c) => ({ recordId: c.recordId, fields: { hubspot_owner_id: c.ownerId } })),
    );
  }

  /** Property values are strings on the wire; null clears a property (''). */
  async updateRecords(target: SyncTarget, changes: readonly FieldChange[]): Promise<Map<string, string>> {
    const failures = new Map<string, string>();
    for (let i = 0; i < changes.length; i += BATCH) {
      const part = changes.slice(i, i + BATCH);
      const res: BatchResponse = await this.request(
        `POST /crm/v3/objects/${target.object}/batch/update`,
        false,
        async () =>
          (await this.client.crm.objects.batchApi.update(target.object, {
            inputs: part.map((c) => ({
              id: c.recordId,
              properties: Object.fromEntries(
                Object.entries(c.fields).map(([k, v]) => [k, v === null ? '' : String(v)]),
              ),
            })),
          })) as BatchResponse,
      );
      for (const e of res.errors ?? []) {
        for (const id of e.context?.ids ?? [])
          failures.set(id, `${e.category}: ${readableMessage(e.message)}`);
      }
    }
    return failures;
  }

  async writeTasks(tasks: readonly TaskSpec[]): Promise<TaskOutcome[]> {
    if (tasks.length === 0) return [];
    await this.ensureKeyProperty();
    const outcomes = new Map<string, TaskOutcome>();
    for (let i = 0; i < tasks.length; i += BATCH) {
      const part = tasks.slice(i, i + BATCH);
      // Tasks a crashed run created already: taken as they are.
      const existing = await this.readBy(
        'tasks',
        TASK_KEY_PROPERTY,
        part.map((t) => t.taskKey),
        [],
      );
      const missing: TaskSpec[] = [];
      for (const t of part) {
        const found = existing.get(t.taskKey);
        if (found)
          outcomes.set(t.taskKey, { taskKey: t.taskKey, status: 'created', taskId: found.id, existed: true });
        else missing.push(t);
      }
      if (missing.length === 0) continue;
      for (const o of await this.createTasks(missing)) outcomes.set(o.taskKey, o);
    }
    return tasks.map(
      (t) =>
        outcomes.get(t.taskKey) ?? {
          taskKey: t.taskKey,
          status: 'failed',
          reason: 'no result for this task',
        },
    );
  }

  apiCalls(): number {
    return this.calls;
  }

  /**
   * Creates tasks with `objectWriteTraceId` = task key, so HubSpot answers one refused task in a 207 naming it
   * instead of refusing the batch. A batch HubSpot still refuses whole (a 400 or 409: a property value of one
   * task) is split in halves until the refused task is alone; it fails with HubSpot's reason.
   */
  private async createTasks(tasks: TaskSpec[]): Promise<TaskOutcome[]> {
    let res: BatchResponse;
    try {
      res = await this.request(
        'POST /crm/v3/objects/tasks/batch/create',
        true,
        async () =>
          (await this.client.crm.objects.batchApi.create('tasks', {
            inputs: tasks.map((t) => ({ ...taskInput(t), objectWriteTraceId: t.taskKey })),
          })) as BatchResponse,
      );
    } catch (err) {
      if (!(err instanceof PqlsyncError && err.details?.splittable === true)) throw err;
      if (tasks.length === 1)
        return [{ taskKey: tasks[0]?.taskKey ?? '', status: 'failed', reason: err.message }];
      const mid = Math.ceil(tasks.length / 2);
      return [
        ...(await this.createTasks(tasks.slice(0, mid))),
        ...(await this.createTasks(tasks.slice(mid))),
      ];
    }
    const outcomes = new Map<string, TaskOutcome>();
    for (const r of res.results) {
      const key = r.properties[TASK_KEY_PROPERTY];
      if (key) outcomes.set(key, { taskKey: key, status: 'created', taskId: r.id, existed: false });
    }
    const unattributed: string[] = [];
    for (const e of res.errors ?? []) {
      const reason = `${e.category}: ${readableMessage(e.message)}`;
      const keys = (e.context?.objectWriteTraceId ?? []).filter((k) => tasks.some((t) => t.taskKey === k));
      if (keys.length === 0) unattributed.push(reason);
      for (const key of keys) outcomes.set(key, { taskKey: key, status: 'failed', reason });
    }
    return tasks.map(
      (t) =>
        outcomes.get(t.taskKey) ?? {
          taskKey: t.taskKey,
          status: 'failed',
          reason: unattributed.join('; ') || 'HubSpot returned no result for this task',
        },
    );
  }

  async close(): Promise<void> {
    // Sockets first: a request still waiting for an answer fails now instead of holding the limiter's stop.
    this.http.close();
    await this.limiter.release();
  }

  /** Creates the unique task-key property the first time a portal sees pqlsync tasks. */
  private async ensureKeyProperty(): Promise<void> {
    if (this.keyPropertyReady) return;
    const all = await this.request('GET /crm/v3/properties/tasks', false, () =>
      this.client.crm.properties.coreApi.getAll('tasks', false),
    );
    const found = all.results.find((p) => p.name === TASK_KEY_PROPERTY);
    if (found && found.hasUniqueValue !== true) {
      throw new PqlsyncError(
        'DESTINATION_PREFLIGHT_FAILED',
        `the HubSpot task property ${TASK_KEY_PROPERTY} exists but is not unique (hasUniqueValue is false), so reruns could duplicate tasks`,
        {
          hint: `delete the property ${TASK_KEY_PROPERTY} on tasks in HubSpot (Settings > Properties) and let pqlsync create it`,
        },
      );
    }
    if (!found) {
      try {
        await this.request('POST /crm/v3/properties/tasks', false, () =>
          this.client.crm.properties.coreApi.create('tasks', {
            name: TASK_KEY_PROPERTY,
            label: 'pqlsync task key',
            type: 'string' as never,
            fieldType: 'text' as never,
            groupName: 'taskinformation',
            description:
              'Set by pqlsync: one key per routed PQL transition, so reruns never duplicate a task.',
            hasUniqueValue: true,
          }),
        );
      } catch (err) {
        // 409: another run created it meanwhile.
        if (!(err instanceof PqlsyncError && err.details?.status === 409)) throw err;
      }
    }
    this.keyPropertyReady = true;
  }

  /** Records of `object` whose unique property `idProperty` is one of `values`, by normalized value. */
  private async readBy(
    object: string,
    idProperty: string,
    values: readonly string[],
    properties: string[],
  ): Promise<Map<string, { id: string; properties: Record<string, string | null> }>> {
    const out = new Map<string, { id: string; properties: Record<string, string | null> }>();
    const unique = [...new Set(values.filter((v) => v !== ''))];
    for (let i = 0; i < unique.length; i += BATCH) {
      const chunk = unique.slice(i, i + BATCH);
      let res: BatchResponse;
      try {
        res = await this.request(
          `POST /crm/v3/objects/${object}/batch/read`,
          false,
          async () =>
            (await this.client.crm.objects.batchApi.read(object, {
              idProperty,
              inputs: chunk.map((id) => ({ id })),
              properties: [...properties, idProperty],
              propertiesWithHistory: [],
            })) as BatchResponse,
        );
      } catch (err) {
        // A plan before the first run: the match property is created by the run, so no record has a value yet.
        if (err instanceof PqlsyncError && err.message.includes('PROPERTY_DOESNT_EXIST')) return out;
        throw err;
      }
      // Values not found come back as an OBJECT_NOT_FOUND error naming them: nothing to take.
      for (const r of res.results) {
        const v = r.properties[idProperty];
        if (v) out.set(norm(idProperty, v), r);
      }
    }
    return out;
  }

  /** One request through the limiter; transient failures (429, 5xx, network) retried with backoff. */
  private async request<T>(request: string, splittable: boolean, fn: () => Promise<T>): Promise<T> {
    const retry = this.options.retry ?? { attempts: 3, minDelayMs: 1000 };
    return pRetry(
      async () => {
        try {
          return await this.limiter.limiter.schedule(() => {
            this.calls++;
            return fn();
          });
        } catch (err) {
          const e = hubspotError(err, {
            destination: this.options.name,
            request,
            baseUrl: this.baseUrl,
            splittable,
            timeoutMs: this.options.config.request_timeout_ms,
          });
          if (e.kind !== 'transient') throw new AbortError(e);
          throw e;
        }
      },
      { retries: retry.attempts - 1, minTimeout: retry.minDelayMs, factor: 2, randomize: true },
    );
  }
}

/** The batch/create input for one task: properties and its contact/company associations. */
export function taskInput(t: TaskSpec): CreateInput {
  const associations: Array<{ id: string; typeId: number }> = [];
  const object = t.record.object.toLowerCase();
  if (t.record.id && object === 'contacts') associations.push({ id: t.record.id, typeId: TASK_TO_CONTACT });
  if (t.record.id && object === 'companies') associations.push({ id: t.record.id, typeId: TASK_TO_COMPANY });
  else if (t.account) associations.push({ id: t.account.id, typeId: TASK_TO_COMPANY });
  return {
    properties: {
      [TASK_KEY_PROPERTY]: t.taskKey,
      hs_timestamp: t.dueAt.toISOString(),
      hs_task_subject: t.subject,
      hs_task_body: htmlBody(t.body),
      hs_task_priority: PRIORITY[t.priority],
      hs_task_status: 'NOT_STARTED',
      hs_task_type: 'TODO',
      hs_task_reminders: String(t.reminderAt.getTime()),
      ...(t.ownerId ? { hubspot_owner_id: t.ownerId } : {}),
    },
    associations: associations.map((a) => ({
      to: { id: a.id },
      types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: a.typeId }],
    })),
  };
}

/** `hs_task_body` is HTML: the text escaped, line breaks kept. */
export function htmlBody(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, '<br>');
}

/** HubSpot compares emails without case; other unique values as they are. */
function norm(property: string, value: string): string {
  return property === 'email' ? value.trim().toLowerCase() : value;
}

function text(v: string | null | undefined): string | null {
  return v === null || v === undefined || v === '' ? null : v;
}
