/**
 * The CRM object routes of the local HubSpot API: batch create / read / update / upsert / archive, the
 * single-object routes, list and search, for contacts, companies and tasks.
 *
 * Glossary:
 * - input: one element of a batch body's `inputs`.
 * - whole-batch error: a 400 that rejects every input (too many inputs, duplicate ids, property values that
 *   break the schema: unknown or read-only property, value not among an enumeration's options, invalid email,
 *   malformed number or date, unknown owner), or a 409 CONFLICT when an input's unique value (a contact's
 *   email, a `hasUniqueValue` property) belongs to another record: nothing of the batch is written.
 * - record error: one entry of a 207 body's `errors[]` (missing `hs_timestamp` on a new task, record not found,
 *   association target not found, an injected `rejectRecord` fault). HubSpot answers 207 only for inputs that
 *   carry `objectWriteTraceId`; a record error on an input without one fails the whole batch with a 400.
 */
import type { SandboxContext, SandboxRequest, SandboxResponse } from '../sandbox-types.js';
import {
  type BatchError,
  type CorrelationIds,
  type PropertyIssue,
  json,
  noContent,
  notFound,
  propertyIssue,
  propertyValuesMessage,
  validationError,
  conflict,
  errorBody,
} from './hubspot-responses.js';
import {
  ASSOCIATION_TYPES,
  DEFAULT_READ_PROPERTIES,
  OBJECT_TYPES,
  OBJECT_TYPE_INFO,
  SYSTEM_PROPERTIES,
  type ObjectType,
} from './hubspot-schema.js';
import { lifecycleDate, type HubspotRecord, type HubspotStore } from './hubspot-store.js';

/** HubSpot's batch endpoints accept at most 100 inputs per request. */
export const MAX_BATCH_INPUTS = 100;
/** Search returns at most 200 results per page. */
const MAX_SEARCH_LIMIT = 200;
const MAX_SEARCH_RESULTS = 10_000;
const DEFAULT_SEARCH_LIMIT = 10;
/** Owners and object pages: 100 by default, 500 at most. */
const MAX_PAGE_LIMIT = 500;

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface ObjectRoutesOptions {
  portalId: number;
  /** Newly created records stay invisible to search for this long, like HubSpot's index lag. */
  searchLagMs: number;
}

export type UnknownRecord = Record<string, unknown>;

export function isPlainObject(value: unknown): value is UnknownRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A validated write input: string values and the associations it asks for. */
interface WriteInput {
  index: number;
  id?: string;
  idProperty?: string;
  traceId?: string;
  values: Record<string, string>;
  associations: Array<{ toType: ObjectType; toId: string; typeId: number }>;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; response: SandboxResponse };

export class ObjectRoutes {
  constructor(
    private readonly store: HubspotStore,
    private readonly ctx: SandboxContext,
    private readonly correlation: CorrelationIds,
    private readonly options: ObjectRoutesOptions,
  ) {}

  // ---- batch routes ------------------------------------------------------------------------------------

  batchCreate(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const parsed = this.parseWriteInputs(type, req, { needsId: false });
    if (!parsed.ok) return parsed.response;
    const startedAt = this.ctx.now().toISOString();
    // Written, but left out of the response (an `omitResults` fault).
    const omitted = this.ctx.faults.takeOmittedResults(req);
    const checked = this.checkInputs(parsed.value, (input, claim) => {
      const error =
        this.injectedFault(req, input) ??
        this.missingRequired(type, input, true) ??
        this.missingAssociationTarget(input);
      return error ? { error } : { conflict: this.uniqueTaken(type, input, undefined, claim) };
    });
    if (!checked.ok) return checked.response;
    const results: unknown[] = [];
    for (const input of checked.valid) {
      const created = this.present(type, this.create(type, input));
      if (!omitted.has(input.index + 1)) results.push(created);
    }
    return this.batchResult(201, startedAt, results, checked.errors, parsed.value.length);
  }

  batchRead(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const body = req.body;
    const parsed = this.parseIdInputs(req);
    if (!parsed.ok) return parsed.response;
    const ids = parsed.value;
    const idProperty =
      isPlainObject(body) && typeof body.idProperty === 'string' ? body.idProperty : undefined;
    if (idProperty !== undefined && !this.store.property(type, idProperty)) {
      return this.propertyValuesInvalid([this.doesNotExist(idProperty)]);
    }
    const wanted = this.requestedProperties(type, isPlainObject(body) ? body.properties : undefined);
    const startedAt = this.ctx.now().toISOString();
    const results: unknown[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const record = idProperty ? this.store.findBy(type, idProperty, id) : this.store.get(type, id);
      if (record) results.push(this.present(type, record, wanted));
      else missing.push(id);
    }
    const errors: BatchError[] =
      missing.length === 0
        ? []
        : [
            {
              status: 'error',
              category: 'OBJECT_NOT_FOUND',
              message: this.notFoundMessage(type),
              context: { ids: missing },
            },
          ];
    return this.batchResult(200, startedAt, results, errors, ids.length);
  }

  batchUpdate(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const parsed = this.parseWriteInputs(type, req, { needsId: true });
    if (!parsed.ok) return parsed.response;
    const startedAt = this.ctx.now().toISOString();
    const records = new Map<WriteInput, HubspotRecord>();
    // Written, but left out of the response (an `omitResults` fault).
    const omitted = this.ctx.faults.takeOmittedResults(req);
    const checked = this.checkInputs(parsed.value, (input, claim) => {
      const record = this.findForWrite(type, input);
      const error =
        this.injectedFault(req, input) ??
        (record ? undefined : this.recordNotFound(type, input)) ??
        this.missingAssociationTarget(input);
      if (error || !record) return { error: error ?? this.recordNotFound(type, input) };
      records.set(input, record);
      return { conflict: this.uniqueTaken(type, input, record.id, claim) };
    });
    if (!checked.ok) return checked.response;
    const results: unknown[] = [];
    for (const input of checked.valid) {
      const record = records.get(input);
      if (!record) continue;
      const updated = this.present(type, this.update(type, record, input));
      if (!omitted.has(input.index + 1)) results.push(updated);
    }
    return this.batchResult(200, startedAt, results, checked.errors, parsed.value.length);
  }

  batchUpsert(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const parsed = this.parseWriteInputs(type, req, { needsId: true });
    if (!parsed.ok) return parsed.response;
    for (const input of parsed.value) {
      const idProperty = input.idProperty ?? 'hs_object_id';
      const definition = this.store.property(type, idProperty);
      if (!definition) return this.propertyValuesInvalid([this.doesNotExist(idProperty)]);
      const unique = definition.hasUniqueValue || (type === 'contacts' && idProperty === 'email');
      if (!unique) {
        return validationError(
          this.correlation.take(),
          `Unable to perform update/upsert by non-unique ${OBJECT_TYPE_INFO[type].typeId} property ` +
            `${idProperty} in portal ID ${this.options.portalId}`,
        );
      }
    }
    const startedAt = this.ctx.now().toISOString();
    const planned = new Map<WriteInput, { record: HubspotRecord | undefined; keyed: WriteInput }>();
    // Written, but left out of the response (an `omitResults` fault).
    const omitted = this.ctx.faults.takeOmittedResults(req);
    const checked = this.checkInputs(parsed.value, (input, claim) => {
      const idProperty = input.idProperty ?? 'hs_object_id';
      const record = this.findForWrite(type, input);
      const keyed: WriteInput =
        record || idProperty === 'hs_object_id'
          ? input
          : { ...input, values: { ...input.values, [idProperty]: input.id ?? '' } };
      const error =
        this.injectedFault(req, input) ??
        (record || idProperty !== 'hs_object_id' ? undefined : this.recordNotFound(type, input)) ??
        this.missingRequired(type, keyed, !record) ??
        this.missingAssociationTarget(input);
      if (error) return { error };
      planned.set(input, { record, keyed });
      return { conflict: this.uniqueTaken(type, keyed, record?.id, claim) };
    });
    if (!checked.ok) return checked.response;
    const results: unknown[] = [];
    for (const input of checked.valid) {
      const plan = planned.get(input);
      if (!plan) continue;
      const written = plan.record
        ? this.update(type, plan.record, plan.keyed)
        : this.create(type, plan.keyed);
      if (!omitted.has(input.index + 1)) results.push({ ...this.present(type, written), new: !plan.record });
    }
    return this.batchResult(200, startedAt, results, checked.errors, parsed.value.length);
  }

  batchArchive(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const parsed = this.parseIdInputs(req);
    if (!parsed.ok) return parsed.response;
    const ids = parsed.value;
    const now = this.ctx.now().toISOString();
    for (const id of ids) {
      const record = this.store.get(type, id);
      if (record) {
        record.archived = true;
        record.updatedAt = now;
      }
    }
    return noContent(ids.length);
  }

  // ---- single-object routes ----------------------------------------------------------------------------

  createOne(type: ObjectType, req: SandboxRequest): SandboxResponse {
    if (!isPlainObject(req.body)) return this.invalidInput('the body must be a JSON object');
    const parsed = this.parseWriteInput(type, req.body, 0, false);
    if (!parsed.ok) return parsed.response;
    const input = parsed.value;
    const error =
      this.missingRequired(type, input, true) ??
      this.uniqueTaken(type, input, undefined) ??
      this.missingAssociationTarget(input);
    if (error) return this.singleError(error);
    return json(201, this.present(type, this.create(type, input)), 1);
  }

  getOne(type: ObjectType, id: string, req: SandboxRequest): SandboxResponse {
    const idProperty = req.query.get('idProperty') ?? undefined;
    const record = idProperty ? this.store.findBy(type, idProperty, id) : this.store.get(type, id);
    if (!record) return notFound(this.correlation.take(), 'resource not found');
    const wanted = this.requestedProperties(type, req.query.get('properties') ?? undefined);
    const presented = this.present(type, record, wanted);
    const associationTypes = (req.query.get('associations') ?? '').split(',').filter(isObjectTypeName);
    if (associationTypes.length === 0) return json(200, presented);
    const associations: Record<string, { results: Array<{ id: string; type: string }> }> = {};
    for (const toType of associationTypes) {
      const edges = this.store.edgesOf(type, record.id, toType, inverseTypeId);
      if (edges.length === 0) continue;
      associations[toType] = {
        results: edges.map((e) => ({ id: e.toId, type: associationLabel(type, toType) })),
      };
    }
    return json(200, { ...presented, associations });
  }

  updateOne(type: ObjectType, id: string, req: SandboxRequest): SandboxResponse {
    if (!isPlainObject(req.body)) return this.invalidInput('the body must be a JSON object');
    const parsed = this.parseWriteInput(type, req.body, 0, false);
    if (!parsed.ok) return parsed.response;
    const idProperty = req.query.get('idProperty') ?? undefined;
    const record = idProperty ? this.store.findBy(type, idProperty, id) : this.store.get(type, id);
    if (!record) return notFound(this.correlation.take(), 'resource not found');
    const input = { ...parsed.value, id: record.id };
    const error = this.uniqueTaken(type, input, record.id);
    if (error) return this.singleError(error);
    return json(200, this.present(type, this.update(type, record, input)), 1);
  }

  archiveOne(type: ObjectType, id: string): SandboxResponse {
    const record = this.store.get(type, id);
    if (record) {
      record.archived = true;
      record.updatedAt = this.ctx.now().toISOString();
    }
    return noContent(1);
  }

  listPage(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const limit = clampLimit(req.query.get('limit'), 10, 100);
    const after = Number(req.query.get('after') ?? '0') || 0;
    const wanted = this.requestedProperties(type, req.query.get('properties') ?? undefined);
    const all = this.store.live(type).sort(byId);
    const page = all.slice(after, after + limit).map((r) => this.present(type, r, wanted));
    return json(200, {
      results: page,
      ...(after + limit < all.length ? { paging: this.nextPage(req, after + limit) } : {}),
    });
  }

  // ---- search ------------------------------------------------------------------------------------------

  search(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const body = isPlainObject(req.body) ? req.body : {};
    const limit = body.limit === undefined ? DEFAULT_SEARCH_LIMIT : Number(body.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
      return this.invalidInput(
        `limit must be an integer between 1 and ${MAX_SEARCH_LIMIT}, got ${String(body.limit)}`,
      );
    }
    const after = body.after === undefined ? 0 : Number(body.after);
    if (!Number.isInteger(after) || after < 0) {
      return this.invalidInput(`after must be a non-negative integer string, got ${String(body.after)}`);
    }
    // The search endpoints return at most 10,000 results per query; a page past them is refused with a 400.
    if (after + limit > MAX_SEARCH_RESULTS) {
      return this.invalidInput(
        `search returns at most ${MAX_SEARCH_RESULTS} results per query; after ${after} + limit ${limit} pages past them (narrow the query instead)`,
      );
    }
    const groups = Array.isArray(body.filterGroups) ? body.filterGroups : [];
    const predicates: Array<Array<(r: HubspotRecord) => boolean>> = [];
    for (const group of groups) {
      const filters = isPlainObject(group) && Array.isArray(group.filters) ? group.filters : [];
      const compiled: Array<(r: HubspotRecord) => boolean> = [];
      for (const filter of filters) {
        const predicate = compileFilter(filter);
        if (typeof predicate === 'string') return this.invalidInput(predicate);
        compiled.push(predicate);
      }
      predicates.push(compiled);
    }
    const visibleBefore = this.ctx.now().getTime() - this.options.searchLagMs;
    const matches = this.store
      .live(type)
      .filter((r) => Date.parse(r.createdAt) <= visibleBefore)
      .filter((r) => predicates.length === 0 || predicates.some((group) => group.every((p) => p(r))));
    const sorts = Array.isArray(body.sorts) ? body.sorts : [];
    matches.sort(compileSorts(sorts));
    const wanted = this.requestedProperties(type, body.properties);
    const page = matches.slice(after, after + limit).map((r) => this.present(type, r, wanted));
    return json(200, {
      total: matches.length,
      results: page,
      ...(after + limit < matches.length ? { paging: { next: { after: String(after + limit) } } } : {}),
    });
  }

  // ---- parsing and validation --------------------------------------------------------------------------

  private parseInputList(req: SandboxRequest): Parsed<unknown[]> {
    const body = req.body;
    if (!isPlainObject(body) || !Array.isArray(body.inputs)) {
      return { ok: false, response: this.invalidInput('the body needs an "inputs" array') };
    }
    if (body.inputs.length > MAX_BATCH_INPUTS) {
      return {
        ok: false,
        response: validationError(
          this.correlation.take(),
          `The maximum number of inputs supported in a batch request is ${MAX_BATCH_INPUTS}. ` +
            `Please reduce the number of items and try again`,
        ),
      };
    }
    return { ok: true, value: body.inputs };
  }

  /** The ids of a read or archive batch: `{"inputs":[{"id"}]}`, at most 100, no duplicates. */
  private parseIdInputs(req: SandboxRequest): Parsed<string[]> {
    const inputs = this.parseInputList(req);
    if (!inputs.ok) return inputs;
    const ids: string[] = [];
    for (const input of inputs.value) {
      if (!isPlainObject(input) || typeof input.id !== 'string') {
        return { ok: false, response: this.invalidInput('each input needs a string "id"') };
      }
      ids.push(input.id);
    }
    const duplicate = this.duplicateIds(ids);
    return duplicate ? { ok: false, response: duplicate } : { ok: true, value: ids };
  }

  private parseWriteInputs(
    type: ObjectType,
    req: SandboxRequest,
    how: { needsId: boolean },
  ): Parsed<WriteInput[]> {
    const list = this.parseInputList(req);
    if (!list.ok) return list;
    const inputs: WriteInput[] = [];
    const issues: PropertyIssue[] = [];
    for (const [index, raw] of list.value.entries()) {
      if (!isPlainObject(raw))
        return { ok: false, response: this.invalidInput(`input ${index} is not an object`) };
      const parsed = this.parseWriteInput(type, raw, index, how.needsId, issues);
      if (!parsed.ok) return parsed;
      inputs.push(parsed.value);
    }
    if (issues.length > 0) return { ok: false, response: this.propertyValuesInvalid(issues) };
    if (how.needsId) {
      const duplicate = this.duplicateIds(inputs.map((i) => i.id ?? ''));
      if (duplicate) return { ok: false, response: duplicate };
    }
    return { ok: true, value: inputs };
  }

  /**
   * Validates one write input. Property issues are collected into `issues` when given (batch: reported
   * together), otherwise returned at once as the 400.
   */
  private parseWriteInput(
    type: ObjectType,
    raw: UnknownRecord,
    index: number,
    needsId: boolean,
    issues?: PropertyIssue[],
  ): Parsed<WriteInput> {
    if (needsId && typeof raw.id !== 'string') {
      return { ok: false, response: this.invalidInput(`input ${index} needs a string "id"`) };
    }
    const properties = raw.properties ?? {};
    if (!isPlainObject(properties)) {
      return { ok: false, response: this.invalidInput(`input ${index} "properties" must be an object`) };
    }
    const own: PropertyIssue[] = [];
    const values: Record<string, string> = {};
    for (const [name, value] of Object.entries(properties)) {
      const text = value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
      const issue = this.checkValue(type, name, text);
      if (issue) own.push(issue);
      else values[name] = text;
    }
    const associations = this.parseAssociations(type, raw.associations, index);
    if (!associations.ok) return associations;
    if (own.length > 0) {
      if (!issues) return { ok: false, response: this.propertyValuesInvalid(own) };
      for (const issue of own) {
        if (!issues.some((i) => i.name === issue.name && i.message === issue.message)) issues.push(issue);
      }
    }
    return {
      ok: true,
      value: {
        index,
        ...(typeof raw.id === 'string' ? { id: raw.id } : {}),
        ...(typeof raw.idProperty === 'string' ? { idProperty: raw.idProperty } : {}),
        ...(typeof raw.objectWriteTraceId === 'string' ? { traceId: raw.objectWriteTraceId } : {}),
        values,
        associations: associations.value,
      },
    };
  }

  private checkValue(type: ObjectType, name: string, value: string): PropertyIssue | undefined {
    const definition = this.store.property(type, name);
    const portal = this.options.portalId;
    if (!definition) return this.doesNotExist(name);
    if (definition.modificationMetadata.readOnlyValue) {
      return propertyIssue(
        portal,
        name,
        'READ_ONLY_VALUE',
        `"${name}" is a read only property; its value cannot be set.`,
      );
    }
    if (value === '') return undefined;
    if (type === 'contacts' && name === 'email' && !EMAIL_PATTERN.test(value)) {
      return propertyIssue(portal, name, 'INVALID_EMAIL', `Email address ${value} is invalid`);
    }
    if (definition.ownerReference) {
      if (!/^\d+$/.test(value)) {
        return propertyIssue(
          portal,
          name,
          'INVALID_INTEGER',
          `${value} was not a valid integer (for owner ID).`,
        );
      }
      if (!this.store.owners.some((o) => o.id === value)) {
        return propertyIssue(portal, name, 'INVALID_OWNER_ID', `${value} is not a valid owner id`);
      }
      return undefined;
    }
    if (definition.type === 'enumeration' || definition.type === 'bool') {
      const allowed = definition.options.map((o) => o.value);
      const chosen = definition.fieldType === 'checkbox' ? value.split(';') : [value];
      const bad = chosen.find((v) => !allowed.includes(v));
      if (bad !== undefined) {
        return propertyIssue(
          portal,
          name,
          'INVALID_OPTION',
          `${bad} was not one of the allowed options: [${allowed.join(', ')}]`,
        );
      }
    }
    if (definition.type === 'number' && !Number.isFinite(Number(value))) {
      return propertyIssue(portal, name, 'INVALID_DECIMAL', `${value} was not a valid number.`);
    }
    if ((definition.type === 'datetime' || definition.type === 'date') && !isHubspotTime(value)) {
      return propertyIssue(
        portal,
        name,
        'INVALID_DATE',
        `${value} is not a valid date; use milliseconds since the epoch or an ISO-8601 UTC timestamp`,
      );
    }
    return undefined;
  }

  private parseAssociations(
    type: ObjectType,
    raw: unknown,
    index: number,
  ): Parsed<WriteInput['associations']> {
    if (raw === undefined || raw === null) return { ok: true, value: [] };
    if (!Array.isArray(raw)) {
      return { ok: false, response: this.invalidInput(`input ${index} "associations" must be an array`) };
    }
    const out: WriteInput['associations'] = [];
    for (const association of raw) {
      const toId =
        isPlainObject(association) && isPlainObject(association.to) ? association.to.id : undefined;
      const types = isPlainObject(association) ? association.types : undefined;
      if (typeof toId !== 'string' || !Array.isArray(types) || types.length === 0) {
        return {
          ok: false,
          response: this.invalidInput(
            `input ${index} association needs "to": {"id"} and a non-empty "types" array`,
          ),
        };
      }
      for (const spec of types) {
        const category = isPlainObject(spec) ? spec.associationCategory : undefined;
        const typeId = isPlainObject(spec) ? spec.associationTypeId : undefined;
        const known = ASSOCIATION_TYPES.find((a) => a.typeId === typeId && a.from === type);
        if (category !== 'HUBSPOT_DEFINED' || !known) {
          const valid = ASSOCIATION_TYPES.filter((a) => a.from === type)
            .map((a) => `${a.typeId} (${associationLabel(a.from, a.to)})`)
            .join(', ');
          return {
            ok: false,
            response: validationError(
              this.correlation.take(),
              `Invalid association type ${String(category)} ${String(typeId)} from ${OBJECT_TYPE_INFO[type].singular}` +
                `: valid HUBSPOT_DEFINED type ids are [${valid}]`,
            ),
          };
        }
        out.push({ toType: known.to, toId, typeId: known.typeId });
      }
    }
    return { ok: true, value: out };
  }

  // ---- record errors -----------------------------------------------------------------------------------

  private recordError(category: string, message: string, input: WriteInput, code?: string): BatchError {
    const context: Record<string, string[]> = {};
    if (input.traceId !== undefined) context.objectWriteTraceId = [input.traceId];
    if (input.id !== undefined) context.ids = [input.id];
    return {
      status: 'error',
      category,
      message,
      context,
      ...(code ? { errors: [{ message, code }] } : {}),
    };
  }

  private injectedFault(req: SandboxRequest, input: WriteInput): BatchError | undefined {
    const fault = this.ctx.faults.takeRecordFault(req, input.index + 1);
    if (!fault) return undefined;
    return this.recordError(
      fault.code,
      fault.message ?? `Record ${input.index + 1} rejected by an injected sandbox fault (${fault.code})`,
      input,
      fault.code,
    );
  }

  private missingRequired(type: ObjectType, input: WriteInput, creating: boolean): BatchError | undefined {
    if (type !== 'tasks' || !creating || (input.values.hs_timestamp ?? '') !== '') return undefined;
    const issue = propertyIssue(
      this.options.portalId,
      'hs_timestamp',
      'REQUIRED_PROPERTY',
      'Property "hs_timestamp" is required when creating a task',
    );
    return this.recordError('VALIDATION_ERROR', propertyValuesMessage([issue]), input, 'REQUIRED_PROPERTY');
  }

  /**
   * A unique value (contact email or a `hasUniqueValue` property) already held by another record, or claimed by
   * an earlier input of the same batch (`claim` records this input's values when it is free).
   */
  private uniqueTaken(
    type: ObjectType,
    input: WriteInput,
    selfId: string | undefined,
    claim?: Map<string, string>,
  ): BatchError | undefined {
    const mine: string[] = [];
    for (const [name, value] of Object.entries(input.values)) {
      if (value === '') continue;
      const unique =
        (type === 'contacts' && name === 'email') || this.store.property(type, name)?.hasUniqueValue;
      if (!unique) continue;
      const slot = `${name}\u0000${name === 'email' ? value.toLowerCase() : value}`;
      const holder = this.store.findBy(type, name, value);
      const holderId = holder && holder.id !== selfId ? holder.id : claim?.get(slot);
      if (holderId !== undefined && holderId !== selfId) {
        const message =
          type === 'contacts' && name === 'email'
            ? `Contact already exists. Existing ID: ${holderId}`
            : `A ${OBJECT_TYPE_INFO[type].singular} with ${name}=${value} already exists. Existing ID: ${holderId}`;
        return this.recordError('CONFLICT', message, input);
      }
      mine.push(slot);
    }
    for (const slot of mine) claim?.set(slot, selfId ?? `input ${input.index}`);
    return undefined;
  }

  /**
   * Checks every input of a batch write before anything is written, as HubSpot does: a conflict fails the whole
   * request with 409; a record error fails it with 400 unless the input carries `objectWriteTraceId` (then it is
   * a 207 entry and the other inputs are written).
   */
  private checkInputs(
    inputs: WriteInput[],
    check: (
      input: WriteInput,
      claim: Map<string, string>,
    ) => { error?: BatchError; conflict?: BatchError | undefined },
  ): { ok: true; valid: WriteInput[]; errors: BatchError[] } | { ok: false; response: SandboxResponse } {
    const claim = new Map<string, string>();
    const valid: WriteInput[] = [];
    const errors: BatchError[] = [];
    for (const input of inputs) {
      const { error, conflict: taken } = check(input, claim);
      if (taken) {
        const response = conflict(this.correlation.take(), 'CONFLICT', taken.message);
        return { ok: false, response: { ...response, records: inputs.length } };
      }
      if (!error) {
        valid.push(input);
        continue;
      }
      if (input.traceId === undefined) {
        return { ok: false, response: { ...this.wholeBatchError(error), records: inputs.length } };
      }
      errors.push(error);
    }
    return { ok: true, valid, errors };
  }

  /** A record error that fails its whole batch (the input had no `objectWriteTraceId`). */
  private wholeBatchError(error: BatchError): SandboxResponse {
    return json(
      400,
      errorBody(this.correlation.take(), error.category, error.message, {
        context: error.context,
        ...(error.errors ? { errors: error.errors } : {}),
      }),
    );
  }

  private recordNotFound(type: ObjectType, input: WriteInput): BatchError {
    return this.recordError('OBJECT_NOT_FOUND', this.notFoundMessage(type), input);
  }

  private missingAssociationTarget(input: WriteInput): BatchError | undefined {
    const missing = input.associations.find((a) => !this.store.get(a.toType, a.toId));
    if (!missing) return undefined;
    return {
      status: 'error',
      category: 'OBJECT_NOT_FOUND',
      message: this.notFoundMessage(missing.toType),
      context: {
        ids: [missing.toId],
        ...(input.traceId !== undefined ? { objectWriteTraceId: [input.traceId] } : {}),
      },
    };
  }

  /** A single-object route answers a record error as the whole response. */
  private singleError(error: BatchError): SandboxResponse {
    const id = this.correlation.take();
    if (error.category === 'CONFLICT') return conflict(id, 'CONFLICT', error.message);
    if (error.category === 'OBJECT_NOT_FOUND') return notFound(id, error.message);
    return validationError(id, error.message);
  }

  private notFoundMessage(type: ObjectType): string {
    return (
      `Could not get some ${OBJECT_TYPE_INFO[type].singular} objects, they may be deleted or not exist. ` +
      `Check that ids are valid.`
    );
  }

  private doesNotExist(name: string): PropertyIssue {
    return propertyIssue(
      this.options.portalId,
      name,
      'PROPERTY_DOESNT_EXIST',
      `Property "${name}" does not exist`,
    );
  }

  private propertyValuesInvalid(issues: PropertyIssue[]): SandboxResponse {
    return validationError(this.correlation.take(), propertyValuesMessage(issues));
  }

  private duplicateIds(ids: string[]): SandboxResponse | undefined {
    const seen = new Set<string>();
    const duplicates: string[] = [];
    for (const id of ids) {
      if (seen.has(id) && !duplicates.includes(id)) duplicates.push(id);
      seen.add(id);
    }
    if (duplicates.length === 0) return undefined;
    return validationError(
      this.correlation.take(),
      `Duplicate IDs found in batch input: [${duplicates.join(', ')}]. IDs must be unique`,
      { context: { ids: duplicates } },
    );
  }

  private invalidInput(detail: string): SandboxResponse {
    return validationError(this.correlation.take(), `Invalid input JSON: ${detail}`);
  }

  // ---- writing and presenting --------------------------------------------------------------------------

  private findForWrite(type: ObjectType, input: WriteInput): HubspotRecord | undefined {
    if (input.id === undefined) return undefined;
    const idProperty = input.idProperty ?? 'hs_object_id';
    return this.store.findBy(type, idProperty, input.id);
  }

  private create(type: ObjectType, input: WriteInput): HubspotRecord {
    const id = this.store.takeId();
    const now = this.ctx.now().toISOString();
    const system = SYSTEM_PROPERTIES[type];
    const record: HubspotRecord = {
      id,
      properties: {
        ...lifecycleDate(type, {}, { ...input.values, [system.modified]: now }),
        ...input.values,
        [system.created]: now,
        [system.modified]: now,
        hs_object_id: id,
      },
      createdAt: now,
      updatedAt: now,
      archived: false,
    };
    this.store.insert(type, record);
    this.associate(type, id, input);
    return record;
  }

  private update(type: ObjectType, record: HubspotRecord, input: WriteInput): HubspotRecord {
    const now = this.ctx.now().toISOString();
    this.store.assign(type, record, { ...input.values, [SYSTEM_PROPERTIES[type].modified]: now });
    record.updatedAt = now;
    this.associate(type, record.id, input);
    return record;
  }

  private associate(type: ObjectType, id: string, input: WriteInput): void {
    for (const a of input.associations) {
      this.store.addEdge({ fromType: type, fromId: id, toType: a.toType, toId: a.toId, typeId: a.typeId });
    }
  }

  /** The wire form of a record; `wanted` limits the properties (unset ones come back as null). */
  present(type: ObjectType, record: HubspotRecord, wanted?: string[]): UnknownRecord {
    let properties: Record<string, string | null> = { ...record.properties };
    if (wanted) {
      properties = {};
      for (const name of wanted) properties[name] = record.properties[name] ?? null;
    }
    return {
      id: record.id,
      properties,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      archived: record.archived,
    };
  }

  private requestedProperties(type: ObjectType, raw: unknown): string[] {
    const list =
      typeof raw === 'string'
        ? raw.split(',')
        : Array.isArray(raw)
          ? raw.filter((p): p is string => typeof p === 'string')
          : [];
    const names = list.map((p) => p.trim()).filter((p) => p !== '');
    return names.length > 0 ? [...new Set([...names, 'hs_object_id'])] : DEFAULT_READ_PROPERTIES[type];
  }

  private batchResult(
    successStatus: number,
    startedAt: string,
    results: unknown[],
    errors: BatchError[],
    records: number,
  ): SandboxResponse {
    const completedAt = this.ctx.now().toISOString();
    if (errors.length === 0)
      return json(successStatus, { status: 'COMPLETE', results, startedAt, completedAt }, records);
    return json(
      207,
      { status: 'COMPLETE', results, numErrors: errors.length, errors, startedAt, completedAt },
      records,
    );
  }

  private nextPage(req: SandboxRequest, after: number): { next: { after: string; link: string } } {
    const query = new URLSearchParams(req.query);
    query.set('after', String(after));
    return { next: { after: String(after), link: `${this.ctx.baseUrl()}${req.path}?${query.toString()}` } };
  }
}

// ---- helpers -------------------------------------------------------------------------------------------

function isObjectTypeName(value: string): value is ObjectType {
  return (OBJECT_TYPES as readonly string[]).includes(value);
}

export function inverseTypeId(typeId: number): number {
  const known = ASSOCIATION_TYPES.find((a) => a.typeId === typeId);
  return known ? known.inverseTypeId : typeId;
}

/** HubSpot's v3 association type names, e.g. `task_to_contact`. */
export function associationLabel(from: ObjectType, to: ObjectType): string {
  const singular = (t: ObjectType): string => OBJECT_TYPE_INFO[t].singular.toLowerCase();
  return `${singular(from)}_to_${singular(to)}`;
}

function isHubspotTime(value: string): boolean {
  if (/^\d+$/.test(value)) return true;
  return /^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value));
}

function byId(a: HubspotRecord, b: HubspotRecord): number {
  return Number(a.id) - Number(b.id);
}

export function clampLimit(raw: string | null, fallback: number, max: number = MAX_PAGE_LIMIT): number {
  const n = raw === null ? fallback : Number(raw);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : fallback;
}

const FILTER_OPERATORS = [
  'EQ',
  'NEQ',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'GT',
  'GTE',
  'LT',
  'LTE',
];

/** A search filter as a predicate, or the reason it cannot be one. String comparisons ignore case. */
function compileFilter(filter: unknown): ((r: HubspotRecord) => boolean) | string {
  if (!isPlainObject(filter) || typeof filter.propertyName !== 'string') {
    return 'each filter needs a "propertyName"';
  }
  const name = filter.propertyName;
  const operator = typeof filter.operator === 'string' ? filter.operator : 'EQ';
  if (!FILTER_OPERATORS.includes(operator)) {
    return `filter operator ${operator} is not supported by the sandbox (supported: ${FILTER_OPERATORS.join(', ')})`;
  }
  const value = filter.value === undefined ? undefined : String(filter.value).toLowerCase();
  const values = Array.isArray(filter.values) ? filter.values.map((v) => String(v).toLowerCase()) : [];
  const read = (r: HubspotRecord): string | undefined => {
    const v = name === 'hs_object_id' ? r.id : r.properties[name];
    return v === undefined || v === '' ? undefined : v.toLowerCase();
  };
  const compare = (r: HubspotRecord, test: (a: number, b: number) => boolean): boolean => {
    const have = read(r);
    if (have === undefined || value === undefined) return false;
    const [a, b] = [toComparable(have), toComparable(value)];
    return typeof a === 'number' && typeof b === 'number' ? test(a, b) : test(have.localeCompare(value), 0);
  };
  switch (operator) {
    case 'EQ':
      return (r) => read(r) === value;
    case 'NEQ':
      return (r) => read(r) !== value;
    case 'IN':
      return (r) => values.includes(read(r) ?? '\u0000');
    case 'NOT_IN':
      return (r) => !values.includes(read(r) ?? '\u0000');
    case 'HAS_PROPERTY':
      return (r) => read(r) !== undefined;
    case 'NOT_HAS_PROPERTY':
      return (r) => read(r) === undefined;
    case 'GT':
      return (r) => compare(r, (a, b) => a > b);
    case 'GTE':
      return (r) => compare(r, (a, b) => a >= b);
    case 'LT':
      return (r) => compare(r, (a, b) => a < b);
    default:
      return (r) => compare(r, (a, b) => a <= b);
  }
}

function toComparable(value: string): number | string {
  const n = Number(value);
  if (value.trim() !== '' && Number.isFinite(n)) return n;
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(t) ? value : t;
}

/** Sorts as `["-createdate"]` or `[{propertyName, direction}]`; ties and the default go by id. */
function compileSorts(sorts: unknown[]): (a: HubspotRecord, b: HubspotRecord) => number {
  const keys: Array<{ name: string; descending: boolean }> = [];
  for (const sort of sorts) {
    if (typeof sort === 'string' && sort !== '') {
      keys.push({ name: sort.replace(/^-/, ''), descending: sort.startsWith('-') });
    } else if (isPlainObject(sort) && typeof sort.propertyName === 'string') {
      keys.push({ name: sort.propertyName, descending: sort.direction === 'DESCENDING' });
    }
  }
  return (a, b) => {
    for (const key of keys) {
      const [x, y] = [a.properties[key.name] ?? '', b.properties[key.name] ?? ''];
      const [cx, cy] = [toComparable(x), toComparable(y)];
      const order =
        typeof cx === 'number' && typeof cy === 'number' ? cx - cy : String(cx).localeCompare(String(cy));
      if (order !== 0) return key.descending ? -order : order;
    }
    return byId(a, b);
  };
}
