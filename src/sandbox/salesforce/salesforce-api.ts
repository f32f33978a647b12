/**
 * The local Salesforce REST API, served by the sandbox core under `/services/` (and the identity URL under
 * `/id/`), faithful to what the unmodified jsforce 3.10.16 sends and parses: OAuth token endpoint, bearer
 * check, sObject Collections, single-record routes, SOQL with paging, describe, limits, Bulk API 2.0 ingest.
 *
 * Glossary:
 * - api usage: every authenticated `/services/data` call counts against a daily allocation, reported in
 *   `Sforce-Limit-Info: api-usage=N/M`; past the limit the answer is 403 REQUEST_LIMIT_EXCEEDED.
 * - collections: `/composite/sobjects` create, update, upsert (by external id) and delete, ≤200 records a call.
 * - admin routes: `/_sandbox/salesforce/...` to inspect and seed records, set the limit, and expire tokens.
 */
import type {
  SandboxContext,
  SandboxRequest,
  SandboxRequestHead,
  SandboxResponse,
  VendorApi,
} from '../sandbox-types.js';
import { BulkIngest, defaultFaultMessage, type BulkState } from './bulk-ingest.js';
import { BulkQuery, type BulkQueryState, type Selected } from './bulk-query.js';
import {
  completeTask,
  convertLead,
  moveOpportunity,
  RepActionError,
  type CompleteTaskInput,
  type ConvertLeadInput,
  type OpportunityInput,
} from './salesforce-rep-actions.js';
import { KEY_PREFIXES, makeId, normalizeId } from './salesforce-ids.js';
import { asObject, methodNotAllowed, notFound, sfError, sfJson } from './salesforce-http.js';
import { SalesforceOAuth, type OAuthState, type SalesforceOAuthOptions } from './salesforce-oauth.js';
import {
  buildSchema,
  describeField,
  findField,
  findObject,
  type CustomFieldSpec,
  type ObjectDef,
  type SObjectName,
} from './salesforce-schema.js';
import {
  coerceValue,
  DEFAULT_USERS,
  SalesforceStore,
  type SaveError,
  type SeedUser,
  type SfRecord,
  type StoreState,
  type WriteOutcome,
} from './salesforce-store.js';
import {
  evaluate,
  parseSoql,
  referencedFields,
  sortRecords,
  SoqlError,
  type FieldReader,
  type SoqlQuery,
} from './soql.js';

/** Options of the local Salesforce. */
export interface SalesforceSandboxOptions {
  /** Calls allowed per 24 hours before 403 REQUEST_LIMIT_EXCEEDED. (Default: 15,000) */
  dailyApiLimit?: number;
  /** Records per query page when the client sends no `Sforce-Query-Options: batchSize`. (Default: 2,000) */
  queryPageSize?: number;
  /** Status checks that see a Bulk 2.0 job InProgress before it completes. (Default: 1) */
  bulkPollsBeforeComplete?: number;
  /** Records per Bulk 2.0 query result set when the client sends no `maxRecords`. (Default: 100,000) */
  bulkQueryPageSize?: number;
  /** Custom fields per sObject, replacing the conventional PQL set for the objects given. (Default: DESIGN.md's set) */
  customFields?: Partial<Record<SObjectName, CustomFieldSpec[]>>;
  /** The users the org starts with; the first active one is the API's running user. (Default: 4 active, 1 inactive) */
  users?: SeedUser[];
  oauth?: SalesforceOAuthOptions;
}

/** sObject Collections accept at most 200 records per call. */
const MAX_COLLECTION_RECORDS = 200;
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_CURSORS = 100;
const ROLLED_BACK: SaveError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

interface SalesforceState {
  store: StoreState;
  oauth: OAuthState;
  bulk: BulkState;
  bulkQuery?: BulkQueryState;
  usage: { used: number; windowStart: number };
  dailyApiLimit: number;
}

type Operation = 'create' | 'update' | 'upsert';

export function createSalesforceApi(ctx: SandboxContext, options: SalesforceSandboxOptions = {}): VendorApi {
  return new SalesforceApi(ctx, options);
}

class SalesforceApi implements VendorApi {
  readonly name = 'salesforce';
  private readonly orgId = makeId(KEY_PREFIXES.Organization, 1);
  private readonly store: SalesforceStore;
  private readonly oauth: SalesforceOAuth;
  private readonly bulk: BulkIngest;
  private readonly bulkQuery: BulkQuery;
  private usage = { used: 0, windowStart: 0 };
  private dailyApiLimit: number;
  private cursors = new Map<
    string,
    { records: Record<string, unknown>[]; totalSize: number; pageSize: number }
  >();

  constructor(
    private readonly ctx: SandboxContext,
    private readonly options: SalesforceSandboxOptions,
  ) {
    this.store = new SalesforceStore(
      buildSchema(options.customFields),
      () => ctx.now(),
      options.users ?? DEFAULT_USERS,
    );
    this.oauth = new SalesforceOAuth(ctx, this.store, this.orgId, options.oauth);
    this.bulk = new BulkIngest(ctx, this.store, Math.max(1, options.bulkPollsBeforeComplete ?? 1));
    this.bulkQuery = new BulkQuery(
      ctx,
      this.store,
      (soql, includeDeleted) => this.select(soql, includeDeleted),
      Math.max(1, options.bulkPollsBeforeComplete ?? 1),
      Math.max(1, options.bulkQueryPageSize ?? 100_000),
    );
    this.dailyApiLimit = options.dailyApiLimit ?? 15_000;
  }

  handles(path: string): boolean {
    return path.startsWith('/services/') || path === '/services' || path.startsWith('/id/');
  }

  reset(): void {
    this.store.reset();
    this.oauth.reset();
    this.bulk.reset();
    this.bulkQuery.reset();
    this.cursors.clear();
    this.usage = { used: 0, windowStart: 0 };
    this.dailyApiLimit = this.options.dailyApiLimit ?? 15_000;
  }

  exportState(): SalesforceState {
    return {
      store: this.store.exportState(),
      oauth: this.oauth.exportState(),
      bulk: this.bulk.exportState(),
      bulkQuery: this.bulkQuery.exportState(),
      usage: { ...this.usage },
      dailyApiLimit: this.dailyApiLimit,
    };
  }

  importState(state: unknown): void {
    const s = asObject(state) as Partial<SalesforceState> | undefined;
    if (!s?.store) return;
    this.store.importState(s.store);
    this.oauth.importState(s.oauth);
    this.bulk.importState(s.bulk);
    this.bulkQuery.importState(s.bulkQuery);
    if (s.usage) this.usage = { ...s.usage };
    if (typeof s.dailyApiLimit === 'number') this.dailyApiLimit = s.dailyApiLimit;
  }

  /** Every `/services/data/vNN.N/...` and `/id/...` route needs a live session; the token and versions routes do not. */
  authorize(req: SandboxRequestHead): SandboxResponse | undefined {
    if (!/^\/services\/data\/v\d+\.\d(\/|$)|^\/id\//.test(req.path)) return undefined;
    return this.oauth.authenticate(req.headers.authorization)
      ? undefined
      : sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
  }

  maxBodyBytes(req: SandboxRequestHead): number {
    // Bulk API 2.0 takes at most 150 MB per job upload (bulk_api_2_limits; salesforce-api.md §8).
    if (/\/jobs\/ingest\/[^/]+\/batches$/.test(req.path)) return 150 * 1024 * 1024;
    // REST API: a non-multipart request is limited to 50 MB of text ("Insert or Update Blob Data", REST API guide).
    return 50 * 1024 * 1024;
  }

  handle(req: SandboxRequest): SandboxResponse {
    if (req.path === '/services/oauth2/token') {
      return req.method === 'POST' ? this.oauth.token(req.body) : methodNotAllowed(req.method, ['POST']);
    }
    if (req.path === '/services/data' || req.path === '/services/data/') return sfJson(200, this.versions());
    const idMatch = /^\/id\/([^/]+)\/([^/]+)$/.exec(req.path);
    const versioned = /^\/services\/data\/v(\d+\.\d)(\/.*)?$/.exec(req.path);
    if (!versioned && !idMatch) return notFound();
    const userId = this.oauth.authenticate(req.headers.authorization);
    if (!userId) return sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    const now = this.ctx.now().getTime();
    if (now - this.usage.windowStart >= DAY_MS) this.usage = { used: 0, windowStart: now };
    if (this.usage.used >= this.dailyApiLimit) {
      return this.withLimitInfo(sfError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'));
    }
    this.usage.used += 1;
    if (idMatch) return this.withLimitInfo(this.identity(idMatch[2] ?? ''));
    const version = versioned?.[1] ?? '62.0';
    const rest = versioned?.[2] ?? '/';
    let response: SandboxResponse;
    try {
      response = this.route(req, version, rest, userId);
    } catch (e) {
      if (e instanceof SoqlError) response = sfError(400, e.errorCode, e.message);
      else throw e;
    }
    return this.withLimitInfo(response);
  }

  handleAdmin(req: SandboxRequest, subPath: string): SandboxResponse {
    const parts = subPath.split('/').filter(Boolean);
    const body = asObject(req.body) ?? {};
    const head = parts[0] ?? '';
    if (head === 'limits') {
      if (req.method === 'POST') {
        if (typeof body.dailyApiLimit === 'number') this.dailyApiLimit = body.dailyApiLimit;
        if (typeof body.used === 'number')
          this.usage = { used: body.used, windowStart: this.ctx.now().getTime() };
      }
      return sfJson(200, { dailyApiLimit: this.dailyApiLimit, used: this.usage.used });
    }
    if (head === 'bulk' && req.method === 'GET')
      return sfJson(200, parts[1] === 'query' ? this.bulkQuery.stats() : this.bulk.stats());
    if (head === 'bulk' && parts[1] === 'query-failures' && req.method === 'POST') {
      const count = typeof body.count === 'number' ? body.count : 1;
      const message =
        typeof body.errorMessage === 'string'
          ? body.errorMessage
          : 'Failed to process query: UNKNOWN_EXCEPTION';
      this.bulkQuery.failNextJobs(count, message);
      return sfJson(200, { failNext: count, errorMessage: message });
    }
    if (head === 'oauth' && req.method === 'POST') {
      const str = (k: string): string | undefined =>
        typeof body[k] === 'string' ? (body[k] as string) : undefined;
      if (parts[1] === 'tokens') return this.oauth.issueWithRefresh(str('username'));
      if (parts[1] === 'expire') return this.oauth.expire(str('accessToken'));
      if (parts[1] === 'revoke') return this.oauth.revoke(str('refreshToken'));
    }
    const def = findObject(this.store.schema, head);
    if (def && parts.length === 3 && req.method === 'POST') return this.repAction(def.name, parts, body);
    if (def && parts.length === 1) {
      if (req.method === 'GET')
        return sfJson(200, {
          records: this.store.all(def.name).map((r) => this.withAttributes(def.name, r, '62.0')),
        });
      if (req.method === 'POST') return this.seed(def, req.body);
    }
    return sfJson(404, {
      error: `unknown admin route ${req.method} /_sandbox/salesforce${subPath}; try GET /_sandbox/salesforce/Lead, POST /_sandbox/salesforce/Lead {"records": [...]}, POST /_sandbox/salesforce/Task/{id}/complete, POST /_sandbox/salesforce/Lead/{id}/convert, POST /_sandbox/salesforce/Opportunity/{id}/stage, POST /_sandbox/salesforce/limits, POST /_sandbox/salesforce/oauth/tokens|expire|revoke`,
    });
  }

  /** `POST /_sandbox/salesforce/{Task|Lead|Opportunity}/{id}/{complete|convert|stage}`: what reps do. */
  private repAction(type: SObjectName, parts: string[], body: Record<string, unknown>): SandboxResponse {
    const [, id = '', action] = parts;
    const now = this.ctx.now();
    try {
      if (type === 'Task' && action === 'complete')
        return sfJson(200, { record: completeTask(this.store, id, body as CompleteTaskInput, now) });
      if (type === 'Lead' && action === 'convert')
        return sfJson(200, convertLead(this.store, id, body as ConvertLeadInput, now));
      if (type === 'Opportunity' && action === 'stage')
        return sfJson(200, { record: moveOpportunity(this.store, id, body as OpportunityInput) });
    } catch (e) {
      if (e instanceof RepActionError) return sfJson(e.status, { error: e.message });
      throw e;
    }
    return sfJson(404, {
      error: `unknown admin action ${type}/${id}/${String(action)}; try Task/{id}/complete, Lead/{id}/convert, Opportunity/{id}/stage`,
    });
  }

  private seed(def: ObjectDef, body: unknown): SandboxResponse {
    const list = Array.isArray(body) ? body : asObject(body)?.records;
    if (!Array.isArray(list))
      return sfJson(400, { error: 'expected {"records": [{...}, ...]} or an array of records' });
    const created: SfRecord[] = [];
    for (const [i, item] of list.entries()) {
      try {
        created.push(this.store.insertRaw(def.name, asObject(item) ?? {}));
      } catch (e) {
        return sfJson(400, { error: `records[${i}]: ${(e as Error).message}` });
      }
    }
    return sfJson(
      200,
      { records: created.map((r) => this.withAttributes(def.name, r, '62.0')) },
      created.length,
    );
  }

  private withLimitInfo(response: SandboxResponse): SandboxResponse {
    return {
      ...response,
      headers: {
        ...(response.headers ?? {}),
        'Sforce-Limit-Info': `api-usage=${this.usage.used}/${this.dailyApiLimit}`,
      },
    };
  }

  private versions(): Array<Record<string, string>> {
    return ['58.0', '59.0', '60.0', '61.0', '62.0', '63.0'].map((v) => ({
      label: `v${v}`,
      url: `/services/data/v${v}`,
      version: v,
    }));
  }

  private identity(userId: string): SandboxResponse {
    const user = this.store.find(userId);
    if (!user || user.type !== 'User') return notFound();
    const base = this.ctx.baseUrl();
    return sfJson(200, {
      id: `${base}/id/${this.orgId}/${user.record.Id}`,
      user_id: user.record.Id,
      organization_id: this.orgId,
      username: user.record.Username,
      email: user.record.Email,
      display_name: user.record.Name,
      active: user.record.IsActive,
      urls: {
        rest: `${base}/services/data/v{version}/`,
        sobjects: `${base}/services/data/v{version}/sobjects/`,
      },
    });
  }

  private route(req: SandboxRequest, version: string, rest: string, userId: string): SandboxResponse {
    const parts = rest.split('/').filter(Boolean).map(decodeURIComponent);
    const [a, b, c, d] = parts;
    if (a === undefined) return sfJson(200, this.resources(version));
    if (rest.startsWith('/jobs/ingest'))
      return this.bulk.handle(req, version, rest.slice('/jobs/ingest'.length), userId);
    if (rest === '/jobs/query' || rest.startsWith('/jobs/query/'))
      return this.bulkQuery.handle(req, version, rest.slice('/jobs/query'.length), userId);
    if (
      req.body === undefined &&
      req.rawBody.length > 0 &&
      /json/i.test(String(req.headers['content-type']))
    ) {
      return sfError(
        400,
        'JSON_PARSER_ERROR',
        `Unexpected character in the JSON request body: ${req.rawBody.toString('utf8').slice(0, 40)}`,
      );
    }
    switch (a) {
      case 'limits':
        return req.method === 'GET' ? sfJson(200, this.limits()) : methodNotAllowed(req.method, ['GET']);
      case 'sobjects':
        if (b === undefined)
          return req.method === 'GET'
            ? sfJson(200, this.describeGlobal(version))
            : methodNotAllowed(req.method, ['GET']);
        return this.sobjectRoute(req, version, b, c, d);
      case 'composite':
        if (b === 'sobjects' && d === undefined)
          return this.collections(req, version, c, parts.length === 4 ? parts[3] : undefined);
        if (b === 'sobjects' && c !== undefined && d !== undefined && parts.length === 4)
          return this.collections(req, version, c, d);
        return notFound();
      case 'query':
      case 'queryAll':
        if (req.method !== 'GET') return methodNotAllowed(req.method, ['GET']);
        return b === undefined ? this.query(req, version, a === 'queryAll') : this.queryMore(b);
      default:
        return notFound();
    }
  }

  private resources(version: string): Record<string, string> {
    const root = `/services/data/v${version}`;
    return {
      sobjects: `${root}/sobjects`,
      query: `${root}/query`,
      queryAll: `${root}/queryAll`,
      limits: `${root}/limits`,
      composite: `${root}/composite`,
      jobs: `${root}/jobs`,
    };
  }

  private limits(): Record<string, { Max: number; Remaining: number }> {
    return {
      DailyApiRequests: {
        Max: this.dailyApiLimit,
        Remaining: Math.max(0, this.dailyApiLimit - this.usage.used),
      },
      DailyBulkV2QueryJobs: { Max: 10_000, Remaining: 10_000 },
      DailyBulkV2QueryFileStorageMB: { Max: 976_562, Remaining: 976_562 },
      DailyBulkApiBatches: { Max: 15_000, Remaining: 15_000 - this.bulk.exportState().jobs.length },
      DataStorageMB: { Max: 1_024, Remaining: 1_024 },
    };
  }

  private sobjectUrls(version: string, name: string): Record<string, string> {
    const root = `/services/data/v${version}/sobjects/${name}`;
    return { sobject: root, describe: `${root}/describe`, rowTemplate: `${root}/{ID}` };
  }

  private objectSummary(version: string, def: ObjectDef): Record<string, unknown> {
    const writable = def.name !== 'User';
    return {
      name: def.name,
      label: def.label,
      labelPlural: def.labelPlural,
      keyPrefix: def.keyPrefix,
      custom: false,
      createable: writable,
      updateable: writable,
      deletable: writable,
      queryable: true,
      searchable: true,
      urls: this.sobjectUrls(version, def.name),
    };
  }

  private describeGlobal(version: string): Record<string, unknown> {
    return {
      encoding: 'UTF-8',
      maxBatchSize: MAX_COLLECTION_RECORDS,
      sobjects: [...this.store.schema.values()].map((def) => this.objectSummary(version, def)),
    };
  }

  private sobjectRoute(
    req: SandboxRequest,
    version: string,
    typeName: string,
    second?: string,
    third?: string,
  ): SandboxResponse {
    const def = findObject(this.store.schema, typeName);
    if (!def) return notFound();
    if (second === undefined) {
      if (req.method === 'GET')
        return sfJson(200, { objectDescribe: this.objectSummary(version, def), recentItems: [] });
      if (req.method === 'POST') return this.single(req, def, 'create');
      return methodNotAllowed(req.method, ['GET', 'POST']);
    }
    if (second === 'describe' && third === undefined) {
      if (req.method !== 'GET') return methodNotAllowed(req.method, ['GET']);
      return sfJson(200, { ...this.objectSummary(version, def), fields: def.fields.map(describeField) });
    }
    if (third === undefined) {
      const found = this.store.find(second);
      if (req.method === 'GET') {
        if (!found || found.type !== def.name || found.record.IsDeleted === true) return notFound();
        return sfJson(
          200,
          this.pick(def, this.withAttributes(def.name, found.record, version), req.query.get('fields')),
        );
      }
      if (req.method === 'PATCH') return this.single(req, def, 'update', second);
      if (req.method === 'DELETE') return this.singleResult(this.store.delete(second), 204);
      return methodNotAllowed(req.method, ['GET', 'PATCH', 'DELETE']);
    }
    const keyField = findField(def, second);
    if (!keyField || !(keyField.externalId || keyField.idLookup)) {
      return sfError(
        404,
        'NOT_FOUND',
        `Provided external ID field does not exist or is not accessible: ${second}`,
      );
    }
    if (req.method === 'GET') {
      const matches = this.store.matchExternalId(def.name, keyField, third);
      if (matches.length > 1)
        return sfJson(
          300,
          matches.map((m) => `/services/data/v${version}/sobjects/${def.name}/${m.Id}`),
        );
      const match = matches[0];
      return match ? sfJson(200, this.withAttributes(def.name, match, version)) : notFound();
    }
    if (req.method !== 'PATCH') return methodNotAllowed(req.method, ['GET', 'PATCH']);
    const matches = this.store.matchExternalId(def.name, keyField, third);
    if (matches.length > 1)
      return sfJson(
        300,
        matches.map((m) => `/services/data/v${version}/sobjects/${def.name}/${m.Id}`),
      );
    const input = { ...(asObject(req.body) ?? {}), [keyField.name]: third };
    const outcome = this.store.upsert(def.name, keyField, input);
    if (!outcome.ok) return this.singleResult(outcome, 200);
    // From API 46.0 an update by external id answers 200 with a body; before, 204.
    if (!outcome.created && Number(version) < 46) return { status: 204, records: 1 };
    return sfJson(
      outcome.created ? 201 : 200,
      { id: outcome.id, success: true, errors: [], created: outcome.created },
      1,
    );
  }

  private single(req: SandboxRequest, def: ObjectDef, op: 'create' | 'update', id?: string): SandboxResponse {
    const input = asObject(req.body);
    if (!input) return sfError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
    if (op === 'create') {
      const outcome = this.store.create(def.name, input);
      return outcome.ok
        ? sfJson(201, { id: outcome.id, success: true, errors: [] }, 1)
        : this.singleResult(outcome, 201);
    }
    return this.singleResult(this.store.update(def.name, id, input), 204);
  }

  private singleResult(outcome: WriteOutcome, okStatus: number): SandboxResponse {
    if (outcome.ok)
      return okStatus === 204
        ? { status: 204, records: 1 }
        : sfJson(okStatus, { id: outcome.id, success: true, errors: [] }, 1);
    const status = outcome.errors[0]?.statusCode === 'ENTITY_IS_DELETED' ? 404 : 400;
    return sfJson(
      status,
      outcome.errors.map((e) => ({ message: e.message, errorCode: e.statusCode, fields: e.fields })),
      1,
    );
  }

  private collections(
    req: SandboxRequest,
    version: string,
    typeName?: string,
    extField?: string,
  ): SandboxResponse {
    if (req.method === 'DELETE' && typeName === undefined) return this.collectionDelete(req);
    if (req.method === 'POST' && typeName !== undefined && extField === undefined)
      return this.retrieve(req, version, typeName);
    const op: Operation | undefined =
      req.method === 'POST' && typeName === undefined
        ? 'create'
        : req.method === 'PATCH'
          ? typeName === undefined
            ? 'update'
            : 'upsert'
          : undefined;
    if (!op || (op === 'upsert' && extField === undefined))
      return methodNotAllowed(req.method, ['POST', 'PATCH', 'DELETE']);
    const body = asObject(req.body);
    const records = body?.records;
    if (!Array.isArray(records))
      return sfError(
        400,
        'JSON_PARSER_ERROR',
        'The request body must be {"allOrNone": false, "records": [...]}',
      );
    if (records.length > MAX_COLLECTION_RECORDS) {
      return {
        ...sfError(
          400,
          'EXCEEDED_ID_LIMIT',
          'record limit reached. cannot submit more than 200 records into this call',
        ),
        records: records.length,
      };
    }
    let urlDef: ObjectDef | undefined;
    let keyField: ReturnType<typeof findField>;
    if (op === 'upsert') {
      urlDef = findObject(this.store.schema, typeName ?? '');
      if (!urlDef) return notFound();
      keyField = findField(urlDef, extField ?? '');
      if (!keyField || !(keyField.externalId || keyField.idLookup)) {
        return sfError(
          404,
          'NOT_FOUND',
          `Provided external ID field does not exist or is not accessible: ${String(extField)}`,
        );
      }
    }
    const inputs: Array<{ def: ObjectDef; input: Record<string, unknown> }> = [];
    for (const item of records) {
      const input = asObject(item);
      const type = asObject(input?.attributes)?.type;
      if (!input || typeof type !== 'string') {
        return sfError(
          400,
          'INVALID_INPUT',
          'When using sObject Collections, the type attribute is required for each record.',
        );
      }
      const def = findObject(this.store.schema, type);
      if (!def) return sfError(400, 'INVALID_TYPE', `sObject type '${type}' is not supported.`);
      if (urlDef && def.name !== urlDef.name) {
        return sfError(
          400,
          'INVALID_TYPE',
          `The sObject type ${type} of a record does not match the URL's type ${urlDef.name}.`,
        );
      }
      inputs.push({ def, input });
    }
    const unreadable = this.typeMismatch(inputs, JSON.stringify(req.body));
    if (unreadable) return { ...unreadable, records: records.length };
    const duplicateKeys = new Set<string>();
    if (keyField) {
      const seen = new Set<string>();
      for (const { input } of inputs) {
        const key = String(input[keyField.name] ?? '').toLowerCase();
        if (seen.has(key)) duplicateKeys.add(key);
        seen.add(key);
      }
    }
    const allOrNone = body?.allOrNone === true;
    this.store.begin();
    const outcomes = inputs.map(({ def, input }, i): WriteOutcome => {
      const fault = this.ctx.faults.takeRecordFault(req, i + 1);
      if (fault)
        return {
          ok: false,
          errors: [
            { statusCode: fault.code, message: fault.message ?? defaultFaultMessage(fault.code), fields: [] },
          ],
        };
      if (op === 'create') return this.store.create(def.name, input);
      if (op === 'update') return this.store.update(def.name, input.id ?? input.Id, input);
      const key = keyField as NonNullable<typeof keyField>;
      const keyValue = input[key.name];
      if (keyValue !== undefined && duplicateKeys.has(String(keyValue).toLowerCase())) {
        return {
          ok: false,
          errors: [
            {
              statusCode: 'DUPLICATE_EXTERNAL_ID',
              message: `Duplicate external id specified: ${String(keyValue)}`,
              fields: [key.name],
            },
          ],
        };
      }
      return this.store.upsert(def.name, key, input);
    });
    const rolledBack = this.finish(outcomes, allOrNone);
    const results = outcomes.map((o) => {
      if (o.ok && rolledBack)
        return { ...(op === 'update' ? { id: o.id } : {}), success: false, errors: [ROLLED_BACK] };
      if (o.ok)
        return { id: o.id, success: true, errors: [], ...(op === 'upsert' ? { created: o.created } : {}) };
      return { ...(o.id && op !== 'create' ? { id: o.id } : {}), success: false, errors: o.errors };
    });
    const omitted = this.ctx.faults.takeOmittedResults(req);
    return sfJson(
      200,
      results.filter((_r, i) => !omitted.has(i + 1)),
      records.length,
    );
  }

  /**
   * Salesforce reads a Collections body into typed fields before it looks at any record: a value that cannot
   * become a number, checkbox, date or date-time (text in a number field) fails the WHOLE request with
   * 400 JSON_PARSER_ERROR, not one record with INVALID_TYPE_ON_FIELD_IN_RECORD.
   */
  private typeMismatch(
    inputs: Array<{ def: ObjectDef; input: Record<string, unknown> }>,
    text: string,
  ): SandboxResponse | undefined {
    for (const { def, input } of inputs) {
      for (const [name, raw] of Object.entries(input)) {
        const f = name === 'attributes' ? undefined : findField(def, name);
        if (!f || !['double', 'boolean', 'date', 'datetime'].includes(f.type) || raw === null) continue;
        const coerced = coerceValue(f, raw);
        if (!('error' in coerced) || coerced.error.statusCode !== 'INVALID_TYPE_ON_FIELD_IN_RECORD') continue;
        const token =
          typeof raw === 'string'
            ? 'VALUE_STRING'
            : typeof raw === 'number'
              ? Number.isInteger(raw)
                ? 'VALUE_NUMBER_INT'
                : 'VALUE_NUMBER_FLOAT'
              : typeof raw === 'boolean'
                ? raw
                  ? 'VALUE_TRUE'
                  : 'VALUE_FALSE'
                : Array.isArray(raw)
                  ? 'START_ARRAY'
                  : 'START_OBJECT';
        const at = text.indexOf(`"${name}":${JSON.stringify(raw)}`);
        const column = at >= 0 ? at + name.length + 4 : 1;
        return sfError(
          400,
          'JSON_PARSER_ERROR',
          `Cannot deserialize instance of ${f.type} from ${token} value ${typeof raw === 'object' ? JSON.stringify(raw) : String(raw)} or request may be missing a required field at [line:1, column:${column}]`,
        );
      }
    }
    return undefined;
  }

  private collectionDelete(req: SandboxRequest): SandboxResponse {
    const ids = (req.query.get('ids') ?? '').split(',').filter(Boolean);
    if (ids.length === 0) return sfError(400, 'MISSING_ARGUMENT', 'ids parameter is required');
    if (ids.length > MAX_COLLECTION_RECORDS) {
      return {
        ...sfError(
          400,
          'EXCEEDED_ID_LIMIT',
          'record limit reached. cannot submit more than 200 records into this call',
        ),
        records: ids.length,
      };
    }
    const allOrNone = req.query.get('allOrNone') === 'true';
    this.store.begin();
    const outcomes = ids.map((id, i): WriteOutcome => {
      const fault = this.ctx.faults.takeRecordFault(req, i + 1);
      if (fault)
        return {
          ok: false,
          id,
          errors: [
            { statusCode: fault.code, message: fault.message ?? defaultFaultMessage(fault.code), fields: [] },
          ],
        };
      return this.store.delete(id);
    });
    const rolledBack = this.finish(outcomes, allOrNone);
    const results = outcomes.map((o, i) => {
      const id = normalizeId(ids[i]) ?? ids[i];
      if (o.ok && rolledBack) return { id, success: false, errors: [ROLLED_BACK] };
      return o.ok ? { id: o.id, success: true, errors: [] } : { id, success: false, errors: o.errors };
    });
    return sfJson(200, results, ids.length);
  }

  /** Commits the writes, or rolls them all back when `allOrNone` and a record failed; true when rolled back. */
  private finish(outcomes: WriteOutcome[], allOrNone: boolean): boolean {
    const rollBack = allOrNone && outcomes.some((o) => !o.ok);
    if (rollBack) this.store.rollback();
    else this.store.commit();
    return rollBack;
  }

  private retrieve(req: SandboxRequest, version: string, typeName: string): SandboxResponse {
    const def = findObject(this.store.schema, typeName);
    if (!def) return notFound();
    const body = asObject(req.body) ?? {};
    const ids = Array.isArray(body.ids) ? body.ids : [];
    const fields = Array.isArray(body.fields) ? body.fields.map(String) : def.fields.map((f) => f.name);
    const unknown = fields.find((f) => !findField(def, f));
    if (unknown) return sfError(400, 'INVALID_FIELD', `No such column '${unknown}' on entity '${def.name}'.`);
    const records = ids.map((id) => {
      const found = this.store.find(String(id));
      if (!found || found.type !== def.name || found.record.IsDeleted === true) return null;
      return this.pick(def, this.withAttributes(def.name, found.record, version), fields.join(','));
    });
    return sfJson(200, records, ids.length);
  }

  private withAttributes(type: string, record: SfRecord, version: string): Record<string, unknown> {
    return {
      attributes: { type, url: `/services/data/v${version}/sobjects/${type}/${record.Id}` },
      ...record,
    };
  }

  private pick(
    def: ObjectDef,
    record: Record<string, unknown>,
    fields: string | null,
  ): Record<string, unknown> {
    if (!fields) return record;
    const out: Record<string, unknown> = { attributes: record.attributes };
    for (const name of fields.split(',')) {
      const f = findField(def, name.trim());
      if (f) out[f.name] = record[f.name] ?? null;
    }
    return out;
  }

  private query(req: SandboxRequest, version: string, includeDeleted: boolean): SandboxResponse {
    const soql = req.query.get('q');
    if (!soql) return sfError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    const { def, query, rows, read } = this.select(soql, includeDeleted);
    if (query.count) return sfJson(200, { totalSize: rows.length, done: true, records: [] });
    const records = rows.map((r) => this.project(def, r, query, version, read));
    const header = /batchSize=(\d+)/i.exec(String(req.headers['sforce-query-options'] ?? ''));
    const pageSize = header
      ? Math.min(2000, Math.max(200, Number(header[1])))
      : Math.max(1, this.options.queryPageSize ?? 2000);
    return sfJson(200, this.page(records, 0, pageSize, version, undefined));
  }

  /** The records a SOQL query selects (filtered, ordered, offset and limited); shared by REST and Bulk queries. */
  private select(soql: string, includeDeleted: boolean): Selected {
    const query = parseSoql(soql);
    const def = findObject(this.store.schema, query.from);
    if (!def) {
      throw new SoqlError(
        'INVALID_TYPE',
        `sObject type '${query.from}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    this.canonicalize(def, query);
    const read = this.reader(def);
    let rows = this.store
      .all(def.name, includeDeleted)
      .filter((r) => !query.where || evaluate(query.where, r, read));
    rows = sortRecords(rows, query, read).slice(query.offset ?? 0);
    if (query.limit !== undefined) rows = rows.slice(0, query.limit);
    return { def, query, rows, read };
  }

  private queryMore(locatorWithOffset: string): SandboxResponse {
    const m = /^(.+)-(\d+)$/.exec(locatorWithOffset);
    const cursor = m ? this.cursors.get(m[1] ?? '') : undefined;
    if (!m || !cursor) return sfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    return sfJson(200, this.page(cursor.records, Number(m[2]), cursor.pageSize, undefined, m[1]));
  }

  private page(
    records: Record<string, unknown>[],
    offset: number,
    pageSize: number,
    version: string | undefined,
    locator: string | undefined,
  ): Record<string, unknown> {
    const slice = records.slice(offset, offset + pageSize);
    const done = offset + pageSize >= records.length;
    const result: Record<string, unknown> = { totalSize: records.length, done, records: slice };
    if (!done) {
      let id = locator;
      if (!id) {
        id = this.store.nextId(KEY_PREFIXES.QueryLocator);
        this.cursors.set(id, { records, totalSize: records.length, pageSize });
        if (this.cursors.size > MAX_CURSORS) this.cursors.delete(this.cursors.keys().next().value as string);
      }
      const v =
        version ?? String(asObject(slice[0]?.attributes)?.url ?? '').match(/\/v(\d+\.\d)\//)?.[1] ?? '62.0';
      result.nextRecordsUrl = `/services/data/v${v}/query/${id}-${offset + pageSize}`;
    }
    return result;
  }

  /** Checks every field the query names and rewrites it to the canonical spelling. */
  private canonicalize(def: ObjectDef, query: SoqlQuery): void {
    for (const path of referencedFields(query)) {
      const shown = path.join('.');
      const noSuchColumn = (): SoqlError =>
        new SoqlError(
          'INVALID_FIELD',
          `No such column '${shown}' on entity '${def.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
        );
      if (path.length === 1) {
        const f = findField(def, path[0] ?? '');
        if (!f) throw noSuchColumn();
        path[0] = f.name;
      } else if (path.length === 2) {
        const rel = def.fields.find((f) => f.relationshipName?.toLowerCase() === path[0]?.toLowerCase());
        const targets = (rel?.referenceTo ?? [])
          .map((t) => findObject(this.store.schema, t))
          .filter((t): t is ObjectDef => t !== undefined);
        const target = targets.map((t) => findField(t, path[1] ?? '')).find((f) => f !== undefined);
        if (!rel?.relationshipName || !target) throw noSuchColumn();
        path[0] = rel.relationshipName;
        path[1] = target.name;
      } else {
        throw noSuchColumn();
      }
    }
  }

  private reader(def: ObjectDef): FieldReader {
    return (record, path) => {
      if (path.length === 1) return record[path[0] ?? ''];
      const rel = def.fields.find((f) => f.relationshipName === path[0]);
      const id = rel ? record[rel.name] : undefined;
      const target = typeof id === 'string' ? this.store.find(id) : undefined;
      return target ? target.record[path[1] ?? ''] : null;
    };
  }

  private project(
    def: ObjectDef,
    record: SfRecord,
    query: SoqlQuery,
    version: string,
    read: FieldReader,
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {
      attributes: { type: def.name, url: `/services/data/v${version}/sobjects/${def.name}/${record.Id}` },
    };
    for (const path of query.fields) {
      const [first, second] = path;
      if (first === undefined) continue;
      if (second === undefined) {
        out[first] = record[first] ?? null;
        continue;
      }
      const rel = def.fields.find((f) => f.relationshipName === first);
      const id = rel ? record[rel.name] : undefined;
      const target = typeof id === 'string' ? this.store.find(id) : undefined;
      if (!target) {
        out[first] = null;
        continue;
      }
      const nested = asObject(out[first]) ?? {
        attributes: {
          type: target.type,
          url: `/services/data/v${version}/sobjects/${target.type}/${target.record.Id}`,
        },
      };
      nested[second] = read(record, path) ?? null;
      out[first] = nested;
    }
    return out;
  }
}
