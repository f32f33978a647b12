/**
 * The portal-metadata routes of the local HubSpot API: properties and property groups, owners, and the v4
 * association reads and labels.
 *
 * Glossary:
 * - property create: `POST /crm/v3/properties/{type}`; 201 with the definition, 409 when the name is taken.
 * - owner page: `GET /crm/v3/owners/` filtered by `email` and `archived`, paged by `after` (an offset).
 */
import type { SandboxContext, SandboxRequest, SandboxResponse } from '../sandbox-types.js';
import { clampLimit, inverseTypeId, isPlainObject } from './hubspot-objects.js';
import {
  type CorrelationIds,
  type BatchError,
  conflict,
  json,
  notFound,
  validationError,
} from './hubspot-responses.js';
import {
  ASSOCIATION_TYPES,
  FIELD_TYPES,
  PROPERTY_TYPES,
  type ObjectType,
  type PropertyDefinition,
  type PropertyGroup,
  type PropertyOption,
} from './hubspot-schema.js';
import type { HubspotStore } from './hubspot-store.js';

const PROPERTY_NAME = /^[a-z][a-z0-9_]*$/;

export class MetadataRoutes {
  constructor(
    private readonly store: HubspotStore,
    private readonly ctx: SandboxContext,
    private readonly correlation: CorrelationIds,
  ) {}

  // ---- properties --------------------------------------------------------------------------------------

  listProperties(type: ObjectType): SandboxResponse {
    return json(200, { results: this.store.properties[type].map(publicProperty) });
  }

  getProperty(type: ObjectType, name: string): SandboxResponse {
    const property = this.store.property(type, name);
    if (!property)
      return notFound(this.correlation.take(), `Unable to find property ${name} for object ${type}`);
    return json(200, publicProperty(property));
  }

  createProperty(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const result = this.defineProperty(type, req.body);
    if (typeof result === 'string') return validationError(this.correlation.take(), result);
    if ('taken' in result) {
      return conflict(this.correlation.take(), 'OBJECT_ALREADY_EXISTS', result.taken);
    }
    this.store.properties[type].push(result);
    return json(201, publicProperty(result), 1);
  }

  batchCreateProperties(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const inputs = isPlainObject(req.body) && Array.isArray(req.body.inputs) ? req.body.inputs : undefined;
    if (!inputs)
      return validationError(this.correlation.take(), 'Invalid input JSON: the body needs an "inputs" array');
    const startedAt = this.ctx.now().toISOString();
    const results: unknown[] = [];
    const errors: BatchError[] = [];
    for (const input of inputs) {
      const result = this.defineProperty(type, input);
      const name = isPlainObject(input) && typeof input.name === 'string' ? input.name : '';
      if (typeof result === 'string') {
        errors.push({
          status: 'error',
          category: 'VALIDATION_ERROR',
          message: result,
          context: { name: [name] },
        });
      } else if ('taken' in result) {
        errors.push({
          status: 'error',
          category: 'OBJECT_ALREADY_EXISTS',
          message: result.taken,
          context: { name: [name] },
        });
      } else {
        this.store.properties[type].push(result);
        results.push(publicProperty(result));
      }
    }
    const completedAt = this.ctx.now().toISOString();
    const body = { status: 'COMPLETE', results, startedAt, completedAt };
    return errors.length === 0
      ? json(201, body, inputs.length)
      : json(207, { ...body, numErrors: errors.length, errors }, inputs.length);
  }

  batchReadProperties(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const inputs = isPlainObject(req.body) && Array.isArray(req.body.inputs) ? req.body.inputs : undefined;
    if (!inputs)
      return validationError(this.correlation.take(), 'Invalid input JSON: the body needs an "inputs" array');
    const startedAt = this.ctx.now().toISOString();
    const results: unknown[] = [];
    const missing: string[] = [];
    for (const input of inputs) {
      const name = isPlainObject(input) && typeof input.name === 'string' ? input.name : '';
      const property = this.store.property(type, name);
      if (property) results.push(publicProperty(property));
      else missing.push(name);
    }
    const completedAt = this.ctx.now().toISOString();
    const body = { status: 'COMPLETE', results, startedAt, completedAt };
    if (missing.length === 0) return json(200, body, inputs.length);
    const error: BatchError = {
      status: 'error',
      category: 'OBJECT_NOT_FOUND',
      message: `Unable to find properties [${missing.join(', ')}] for object ${type}`,
      context: { name: missing },
    };
    return json(207, { ...body, numErrors: 1, errors: [error] }, inputs.length);
  }

  /** A new property definition, `{taken}` when the name exists, or the reason the input is invalid. */
  private defineProperty(type: ObjectType, raw: unknown): PropertyDefinition | { taken: string } | string {
    if (!isPlainObject(raw)) return 'Invalid input JSON: a property must be an object';
    const { name, label, type: valueType, fieldType, groupName } = raw;
    if (typeof name !== 'string' || !PROPERTY_NAME.test(name)) {
      return `Invalid property name ${JSON.stringify(name)}: use lowercase letters, digits and underscores, starting with a letter`;
    }
    if (this.store.property(type, name)) return { taken: `Property named '${name}' already exists.` };
    if (typeof label !== 'string' || label === '') return `Property ${name} needs a "label"`;
    if (typeof valueType !== 'string' || !(PROPERTY_TYPES as readonly string[]).includes(valueType)) {
      return `Property ${name} has type ${JSON.stringify(valueType)}; expected one of ${PROPERTY_TYPES.join(', ')}`;
    }
    if (typeof fieldType !== 'string' || !(FIELD_TYPES as readonly string[]).includes(fieldType)) {
      return `Property ${name} has fieldType ${JSON.stringify(fieldType)}; expected one of ${FIELD_TYPES.join(', ')}`;
    }
    if (typeof groupName !== 'string' || !this.store.groups[type].some((g) => g.name === groupName)) {
      return `Property group ${String(groupName)} does not exist for object ${type}`;
    }
    const options: PropertyOption[] = [];
    if (Array.isArray(raw.options)) {
      for (const [index, o] of raw.options.entries()) {
        if (!isPlainObject(o) || typeof o.value !== 'string' || typeof o.label !== 'string') {
          return `Property ${name} option ${index} needs a string "label" and "value"`;
        }
        options.push({
          label: o.label,
          value: o.value,
          displayOrder: typeof o.displayOrder === 'number' ? o.displayOrder : index,
          hidden: o.hidden === true,
          ...(typeof o.description === 'string' ? { description: o.description } : {}),
        });
      }
    }
    if (valueType === 'enumeration' && options.length === 0)
      return `Enumeration property ${name} needs "options"`;
    if (valueType === 'bool' && options.length === 0) {
      options.push({ label: 'Yes', value: 'true', displayOrder: 0, hidden: false });
      options.push({ label: 'No', value: 'false', displayOrder: 1, hidden: false });
    }
    const now = this.ctx.now().toISOString();
    return {
      name,
      label,
      type: valueType,
      fieldType,
      groupName,
      description: typeof raw.description === 'string' ? raw.description : '',
      options,
      displayOrder: typeof raw.displayOrder === 'number' ? raw.displayOrder : -1,
      hasUniqueValue: raw.hasUniqueValue === true,
      hidden: raw.hidden === true,
      formField: raw.formField === true,
      calculated: false,
      externalOptions: false,
      createdAt: now,
      updatedAt: now,
      archived: false,
      modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
    };
  }

  // ---- groups ------------------------------------------------------------------------------------------

  listGroups(type: ObjectType): SandboxResponse {
    return json(200, { results: this.store.groups[type] });
  }

  createGroup(type: ObjectType, req: SandboxRequest): SandboxResponse {
    const body = req.body;
    if (!isPlainObject(body) || typeof body.name !== 'string' || !PROPERTY_NAME.test(body.name)) {
      return validationError(
        this.correlation.take(),
        'Invalid property group name: use lowercase letters, digits and underscores, starting with a letter',
      );
    }
    if (typeof body.label !== 'string' || body.label === '') {
      return validationError(this.correlation.take(), `Property group ${body.name} needs a "label"`);
    }
    const name = body.name;
    if (this.store.groups[type].some((g) => g.name === name)) {
      return conflict(
        this.correlation.take(),
        'OBJECT_ALREADY_EXISTS',
        `Property group named '${name}' already exists.`,
      );
    }
    const group: PropertyGroup = {
      name,
      label: body.label,
      displayOrder: typeof body.displayOrder === 'number' ? body.displayOrder : -1,
      archived: false,
    };
    this.store.groups[type].push(group);
    return json(201, group, 1);
  }

  // ---- owners ------------------------------------------------------------------------------------------

  ownersPage(req: SandboxRequest): SandboxResponse {
    const email = req.query.get('email')?.toLowerCase();
    const archived = req.query.get('archived') === 'true';
    const limit = clampLimit(req.query.get('limit'), 100);
    const after = Number(req.query.get('after') ?? '0') || 0;
    const matching = this.store.owners.filter(
      (o) =>
        o.archived === archived && (email === undefined || email === '' || o.email.toLowerCase() === email),
    );
    const page = matching.slice(after, after + limit);
    return json(200, {
      results: page,
      ...(after + limit < matching.length ? { paging: { next: { after: String(after + limit) } } } : {}),
    });
  }

  ownerById(id: string, req: SandboxRequest): SandboxResponse {
    const byUserId = req.query.get('idProperty') === 'userId';
    const owner = this.store.owners.find((o) => (byUserId ? String(o.userId) === id : o.id === id));
    if (!owner) return notFound(this.correlation.take(), 'resource not found');
    return json(200, owner);
  }

  // ---- associations (v4) -------------------------------------------------------------------------------

  associationLabels(from: ObjectType, to: ObjectType): SandboxResponse {
    const results: Array<{ category: string; typeId: number; label: null }> = [];
    for (const a of ASSOCIATION_TYPES) {
      if (a.from === from && a.to === to)
        results.push({ category: 'HUBSPOT_DEFINED', typeId: a.typeId, label: null });
      if (a.from === to && a.to === from) {
        results.push({ category: 'HUBSPOT_DEFINED', typeId: a.inverseTypeId, label: null });
      }
    }
    return json(200, { results });
  }

  /**
   * `POST /crm/v4/associations/{from}/{to}/batch/read` `{inputs: [{id}]}`: each record's associations of that type
   * (records with none are left out, as HubSpot reports them as errors of a 207 rather than results).
   */
  associationsBatch(type: ObjectType, toType: ObjectType, req: SandboxRequest): SandboxResponse {
    const body = req.body as { inputs?: unknown } | undefined;
    const inputs = Array.isArray(body?.inputs) ? body.inputs : undefined;
    if (!inputs)
      return json(400, {
        status: 'error',
        message: 'the body needs an "inputs" array',
        category: 'VALIDATION_ERROR',
      });
    // Batch association reads take at most 1,000 inputs.
    if (inputs.length > 1000)
      return json(400, {
        status: 'error',
        message: 'at most 1000 inputs per batch read',
        category: 'VALIDATION_ERROR',
      });
    const now = this.ctx.now().toISOString();
    const results = inputs.flatMap((input) => {
      const id = String((input as { id?: unknown }).id ?? '');
      const to = this.store.edgesOf(type, id, toType, inverseTypeId).map((e) => ({
        toObjectId: Number(e.toId),
        associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: e.typeId, label: null }],
      }));
      return to.length > 0 ? [{ from: { id }, to }] : [];
    });
    return json(200, { status: 'COMPLETE', results, startedAt: now, completedAt: now });
  }

  associationsOf(type: ObjectType, id: string, toType: ObjectType, req: SandboxRequest): SandboxResponse {
    const limit = clampLimit(req.query.get('limit'), 500);
    const after = Number(req.query.get('after') ?? '0') || 0;
    const byTarget = new Map<string, number[]>();
    for (const edge of this.store.edgesOf(type, id, toType, inverseTypeId)) {
      byTarget.set(edge.toId, [...(byTarget.get(edge.toId) ?? []), edge.typeId]);
    }
    const all = [...byTarget.entries()].map(([toId, typeIds]) => ({
      toObjectId: Number(toId),
      associationTypes: typeIds.map((typeId) => ({ category: 'HUBSPOT_DEFINED', typeId, label: null })),
    }));
    return json(200, {
      results: all.slice(after, after + limit),
      ...(after + limit < all.length ? { paging: { next: { after: String(after + limit) } } } : {}),
    });
  }
}

/** The wire form of a property (without the sandbox's internal `ownerReference` flag). */
function publicProperty(property: PropertyDefinition): Omit<PropertyDefinition, 'ownerReference'> {
  const { ownerReference: _ownerReference, ...rest } = property;
  return rest;
}
