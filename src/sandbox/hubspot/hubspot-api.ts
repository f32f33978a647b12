/**
 * The local HubSpot CRM API served by the sandbox under `/crm/`, for the unmodified `@hubspot/api-client`
 * pointed at it with `basePath`. It checks the bearer token, counts every request against HubSpot's
 * 10-second and daily limits (sending the `X-HubSpot-RateLimit-*` headers), and routes to the object and
 * metadata routes. Admin routes under `/_sandbox/hubspot/` let tests and the page inspect and seed state.
 *
 * Glossary:
 * - portal: the one HubSpot account the sandbox pretends to be (`portalId` appears in some messages).
 * - admin route: not part of HubSpot; `GET /_sandbox/hubspot/{objectType}`, `owners`, `limits`.
 */
import type {
  SandboxContext,
  SandboxRequest,
  SandboxRequestHead,
  SandboxResponse,
  VendorApi,
} from '../sandbox-types.js';
import { MetadataRoutes } from './hubspot-metadata.js';
import { ObjectRoutes, type UnknownRecord, associationLabel, isPlainObject } from './hubspot-objects.js';
import {
  RATE_LIMIT_TIERS,
  RateLimiter,
  type RateLimitTier,
  type RateLimits,
} from './hubspot-rate-limiter.js';
import { CorrelationIds, json, rateLimited, unauthorized, validationError } from './hubspot-responses.js';
import { completeTask, HubspotRepActionError, moveDeal, openDeal } from './hubspot-rep-actions.js';
import {
  OBJECT_TYPES,
  type ObjectType,
  type Owner,
  SYSTEM_PROPERTIES,
  isObjectType,
} from './hubspot-schema.js';
import { HubspotStore } from './hubspot-store.js';

export interface HubspotSandboxOptions {
  /** HubSpot subscription tier whose limits apply: `starter` = 100 / 10 s and 250,000 / day, `pro` = 190 / 10 s and 625,000 / day. (Default: `starter`) */
  tier?: RateLimitTier;
  /** Requests per rolling window, overriding the tier. (Default: from `tier`) */
  tenSecondlyLimit?: number;
  /** Length of the rolling window in milliseconds. (Default: 10000) */
  intervalMs?: number;
  /** Requests per day, overriding the tier. (Default: from `tier`) */
  dailyLimit?: number;
  /** The portal (account) id shown in messages. (Default: 12345678) */
  portalId?: number;
  /** New records stay out of search results for this many milliseconds, like HubSpot's index lag. (Default: 0) */
  searchLagMs?: number;
}

/** Creates the HubSpot API the sandbox core mounts under `/crm/`; called once per sandbox. */
export function createHubspotApi(ctx: SandboxContext, options: HubspotSandboxOptions = {}): VendorApi {
  return new HubspotApi(ctx, options);
}

function limitsFrom(options: HubspotSandboxOptions): RateLimits {
  const tier = RATE_LIMIT_TIERS[options.tier ?? 'starter'];
  return {
    max: options.tenSecondlyLimit ?? tier.max,
    intervalMs: options.intervalMs ?? tier.intervalMs,
    daily: options.dailyLimit ?? tier.daily,
  };
}

const OBJECT_ROUTE = /^\/crm\/v3\/objects\/([^/]+)(?:\/(.+))?$/;
const PROPERTY_ROUTE = /^\/crm\/v3\/properties\/([^/]+)(?:\/(.+))?$/;
const OWNER_ROUTE = /^\/crm\/v3\/owners\/?([^/]*)$/;
const LABELS_ROUTE = /^\/crm\/v4\/associations\/([^/]+)\/([^/]+)\/labels$/;
const V4_BATCH_READ_ROUTE = /^\/crm\/v4\/associations\/([^/]+)\/([^/]+)\/batch\/read$/;
const V4_OBJECT_ROUTE = /^\/crm\/v4\/objects\/([^/]+)\/([^/]+)\/associations\/([^/]+)$/;

class HubspotApi implements VendorApi {
  readonly name = 'hubspot';
  private store = new HubspotStore();
  private correlation = new CorrelationIds();
  private limiter: RateLimiter;
  private objects: ObjectRoutes;
  private metadata: MetadataRoutes;

  constructor(
    private readonly ctx: SandboxContext,
    private readonly options: HubspotSandboxOptions,
  ) {
    this.limiter = new RateLimiter(limitsFrom(options));
    this.objects = this.makeObjectRoutes();
    this.metadata = new MetadataRoutes(this.store, ctx, this.correlation);
  }

  private makeObjectRoutes(): ObjectRoutes {
    return new ObjectRoutes(this.store, this.ctx, this.correlation, {
      portalId: this.options.portalId ?? 12345678,
      searchLagMs: this.options.searchLagMs ?? 0,
    });
  }

  handles(path: string): boolean {
    return path.startsWith('/crm/');
  }

  /** Every `/crm/` route needs the private app token. */
  authorize(req: SandboxRequestHead): SandboxResponse | undefined {
    return req.headers.authorization === `Bearer ${this.ctx.token}`
      ? undefined
      : unauthorized(this.correlation.take());
  }

  maxBodyBytes(): number {
    // HubSpot documents no request size limit, only 100 inputs per batch (hubspot-api.md §4); 10 MB is the
    // sandbox's own cap, far above a batch of 100 records of a few properties.
    return 10 * 1024 * 1024;
  }

  handle(req: SandboxRequest): SandboxResponse {
    const refused = this.authorize(req);
    if (refused) return refused;
    const decision = this.limiter.take(this.ctx.now());
    const response = decision.refused
      ? rateLimited(this.correlation.take(), decision.refused)
      : this.route(req);
    return { ...response, headers: { ...response.headers, ...decision.headers } };
  }

  private route(req: SandboxRequest): SandboxResponse {
    const { method, path } = req;
    let m = OBJECT_ROUTE.exec(path);
    if (m) return this.withType(m[1] ?? '', (type) => this.objectRoute(type, method, m?.[2], req));
    m = PROPERTY_ROUTE.exec(path);
    if (m) return this.withType(m[1] ?? '', (type) => this.propertyRoute(type, method, m?.[2], req));
    m = OWNER_ROUTE.exec(path);
    if (m && method === 'GET') {
      return m[1] ? this.metadata.ownerById(decodeURIComponent(m[1]), req) : this.metadata.ownersPage(req);
    }
    m = LABELS_ROUTE.exec(path);
    if (m && method === 'GET') {
      const to = m[2] ?? '';
      return this.withType(m[1] ?? '', (from) =>
        this.withType(to, (t) => this.metadata.associationLabels(from, t)),
      );
    }
    m = V4_BATCH_READ_ROUTE.exec(path);
    if (m && method === 'POST') {
      const to = m[2] ?? '';
      return this.withType(m[1] ?? '', (from) =>
        this.withType(to, (t) => this.metadata.associationsBatch(from, t, req)),
      );
    }
    m = V4_OBJECT_ROUTE.exec(path);
    if (m && method === 'GET') {
      const [, from = '', id = '', to = ''] = m;
      return this.withType(from, (f) =>
        this.withType(to, (t) => this.metadata.associationsOf(f, id, t, req)),
      );
    }
    return this.noRoute(req);
  }

  private objectRoute(
    type: ObjectType,
    method: string,
    rest: string | undefined,
    req: SandboxRequest,
  ): SandboxResponse {
    const o = this.objects;
    if (rest === undefined) {
      if (method === 'GET') return o.listPage(type, req);
      if (method === 'POST') return o.createOne(type, req);
    } else if (rest === 'search' && method === 'POST') {
      return o.search(type, req);
    } else if (rest.startsWith('batch/') && method === 'POST') {
      switch (rest.slice('batch/'.length)) {
        case 'create':
          return o.batchCreate(type, req);
        case 'read':
          return o.batchRead(type, req);
        case 'update':
          return o.batchUpdate(type, req);
        case 'upsert':
          return o.batchUpsert(type, req);
        case 'archive':
          return o.batchArchive(type, req);
      }
    } else if (!rest.includes('/')) {
      const id = decodeURIComponent(rest);
      if (method === 'GET') return o.getOne(type, id, req);
      if (method === 'PATCH') return o.updateOne(type, id, req);
      if (method === 'DELETE') return o.archiveOne(type, id);
    }
    return this.noRoute(req);
  }

  private propertyRoute(
    type: ObjectType,
    method: string,
    rest: string | undefined,
    req: SandboxRequest,
  ): SandboxResponse {
    const m = this.metadata;
    if (rest === undefined) {
      if (method === 'GET') return m.listProperties(type);
      if (method === 'POST') return m.createProperty(type, req);
    } else if (rest === 'groups') {
      if (method === 'GET') return m.listGroups(type);
      if (method === 'POST') return m.createGroup(type, req);
    } else if (rest === 'batch/create' && method === 'POST') {
      return m.batchCreateProperties(type, req);
    } else if (rest === 'batch/read' && method === 'POST') {
      return m.batchReadProperties(type, req);
    } else if (!rest.includes('/') && method === 'GET') {
      return m.getProperty(type, decodeURIComponent(rest));
    }
    return this.noRoute(req);
  }

  private withType(raw: string, then: (type: ObjectType) => SandboxResponse): SandboxResponse {
    const type = decodeURIComponent(raw);
    if (isObjectType(type)) return then(type);
    return validationError(
      this.correlation.take(),
      `Unable to infer object type from: ${type} (the sandbox serves contacts, companies, deals and tasks)`,
    );
  }

  private noRoute(req: SandboxRequest): SandboxResponse {
    return json(404, {
      status: 'error',
      message: `No route for ${req.method} ${req.path} in the HubSpot sandbox`,
      correlationId: this.correlation.take(),
      category: 'OBJECT_NOT_FOUND',
    });
  }

  // ---- admin -------------------------------------------------------------------------------------------

  handleAdmin(req: SandboxRequest, subPath: string): SandboxResponse {
    const path = subPath.replace(/^\/+|\/+$/g, '');
    if (path === 'owners') {
      if (req.method === 'GET') return json(200, { results: this.store.owners });
      if (req.method === 'POST') return this.seedOwners(req.body);
    }
    if (path === 'limits') {
      if (req.method === 'GET') return json(200, this.limitsBody());
      if (req.method === 'POST') return this.setLimits(req.body);
    }
    const action = /^(tasks|contacts|deals)\/([^/]+)\/(complete|deal|stage)$/.exec(path);
    if (action && req.method === 'POST')
      return this.repAction(action[1] ?? '', action[2] ?? '', action[3] ?? '', req.body);
    if (isObjectType(path)) {
      if (req.method === 'GET')
        return json(200, { results: this.store.live(path).map((r) => this.adminRecord(path, r.id)) });
      if (req.method === 'POST') return this.seedRecords(path, req.body);
    }
    return json(404, {
      error: `No HubSpot admin route ${req.method} /_sandbox/hubspot/${path}; use {contacts|companies|deals|tasks}, owners, limits, tasks/{id}/complete, contacts/{id}/deal or deals/{id}/stage`,
    });
  }

  /** `POST /_sandbox/hubspot/{tasks/{id}/complete | contacts/{id}/deal | deals/{id}/stage}`: what reps do. */
  private repAction(type: string, id: string, action: string, body: unknown): SandboxResponse {
    const input = isPlainObject(body) ? body : {};
    const now = this.ctx.now();
    try {
      if (type === 'tasks' && action === 'complete')
        return json(200, this.adminRecord('tasks', completeTask(this.store, id, input, now).id));
      if (type === 'contacts' && action === 'deal')
        return json(201, this.adminRecord('deals', openDeal(this.store, id, input, now).id));
      if (type === 'deals' && action === 'stage')
        return json(200, this.adminRecord('deals', moveDeal(this.store, id, input, now).id));
    } catch (e) {
      if (e instanceof HubspotRepActionError) return json(e.status, { error: e.message });
      throw e;
    }
    return json(404, {
      error: `unknown admin action ${type}/${id}/${action}; try tasks/{id}/complete, contacts/{id}/deal, deals/{id}/stage`,
    });
  }

  private adminRecord(type: ObjectType, id: string): UnknownRecord {
    const record = this.store.records[type].get(id);
    const associations: UnknownRecord[] = [];
    for (const toType of OBJECT_TYPES) {
      for (const edge of this.store.edgesOf(type, id, toType, (t) => t)) {
        associations.push({
          to: { id: edge.toId },
          toObjectType: toType,
          types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: edge.typeId }],
          label: associationLabel(type, toType),
        });
      }
    }
    return { id, properties: record?.properties ?? {}, associations };
  }

  /** `POST /_sandbox/hubspot/{type}` with `{"records":[{"properties":{...}}]}`: stored as is, no validation. */
  private seedRecords(type: ObjectType, body: unknown): SandboxResponse {
    const records = isPlainObject(body) && Array.isArray(body.records) ? body.records : undefined;
    if (!records) return json(400, { error: 'Expected {"records":[{"properties":{...}}]}' });
    const now = this.ctx.now().toISOString();
    const system = SYSTEM_PROPERTIES[type];
    const ids: string[] = [];
    for (const raw of records) {
      const properties: Record<string, string> = {};
      const given = isPlainObject(raw) && isPlainObject(raw.properties) ? raw.properties : {};
      for (const [name, value] of Object.entries(given)) properties[name] = String(value);
      const id = this.store.takeId();
      Object.assign(properties, { [system.created]: now, [system.modified]: now, hs_object_id: id });
      this.store.insert(type, { id, properties, createdAt: now, updatedAt: now, archived: false });
      ids.push(id);
    }
    return json(201, { results: ids.map((id) => this.adminRecord(type, id)) }, ids.length);
  }

  /** `POST /_sandbox/hubspot/owners` with `{"owners":[{"email","firstName","lastName","archived"?}]}`. */
  private seedOwners(body: unknown): SandboxResponse {
    const owners = isPlainObject(body) && Array.isArray(body.owners) ? body.owners : undefined;
    if (!owners) return json(400, { error: 'Expected {"owners":[{"email","firstName","lastName"}]}' });
    const added: Owner[] = [];
    const now = this.ctx.now().toISOString();
    for (const raw of owners) {
      if (!isPlainObject(raw) || typeof raw.email !== 'string') {
        return json(400, { error: 'Each owner needs a string "email"' });
      }
      const nextId = Math.max(41629700, ...this.store.owners.map((o) => Number(o.id))) + 1;
      const userId = Math.max(9586500, ...this.store.owners.map((o) => o.userId)) + 1;
      const owner: Owner = {
        id: String(nextId),
        email: raw.email,
        type: 'PERSON',
        firstName: typeof raw.firstName === 'string' ? raw.firstName : '',
        lastName: typeof raw.lastName === 'string' ? raw.lastName : '',
        userId,
        userIdIncludingInactive: userId,
        createdAt: now,
        updatedAt: now,
        archived: raw.archived === true,
        teams: [],
      };
      this.store.owners.push(owner);
      added.push(owner);
    }
    return json(201, { results: added }, added.length);
  }

  /** `POST /_sandbox/hubspot/limits` with any of `{tier, max, intervalMs, daily, dailyUsed, resetWindow}`. */
  private setLimits(body: unknown): SandboxResponse {
    if (!isPlainObject(body)) return json(400, { error: 'Expected a JSON object' });
    const { tier, max, intervalMs, daily, dailyUsed, resetWindow } = body;
    if (tier !== undefined) {
      if (tier !== 'starter' && tier !== 'pro')
        return json(400, { error: 'tier must be "starter" or "pro"' });
      this.limiter.limits = { ...RATE_LIMIT_TIERS[tier] };
    }
    for (const [key, value] of Object.entries({ max, intervalMs, daily })) {
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        return json(400, { error: `${key} must be a non-negative integer` });
      }
      this.limiter.limits = { ...this.limiter.limits, [key]: value };
    }
    if (dailyUsed !== undefined) {
      if (typeof dailyUsed !== 'number' || !Number.isInteger(dailyUsed) || dailyUsed < 0) {
        return json(400, { error: 'dailyUsed must be a non-negative integer' });
      }
      this.limiter.usage.day = this.ctx.now().toISOString().slice(0, 10);
      this.limiter.usage.dailyUsed = dailyUsed;
    }
    if (resetWindow === true) this.limiter.usage.window = [];
    return json(200, this.limitsBody());
  }

  private limitsBody(): UnknownRecord {
    return {
      limits: this.limiter.limits,
      usage: { ...this.limiter.usage, window: this.limiter.usage.window.length },
    };
  }

  // ---- persistence -------------------------------------------------------------------------------------

  exportState(): unknown {
    return { ...this.store.export(), limits: this.limiter.limits };
  }

  importState(state: unknown): void {
    this.store.import(state);
    if (isPlainObject(state) && isPlainObject(state.limits)) {
      const l = state.limits;
      if (typeof l.max === 'number' && typeof l.intervalMs === 'number' && typeof l.daily === 'number') {
        this.limiter.limits = { max: l.max, intervalMs: l.intervalMs, daily: l.daily };
      }
    }
  }

  reset(): void {
    this.store = new HubspotStore();
    this.correlation = new CorrelationIds();
    this.limiter = new RateLimiter(limitsFrom(this.options));
    this.objects = this.makeObjectRoutes();
    this.metadata = new MetadataRoutes(this.store, this.ctx, this.correlation);
  }
}
