/**
 * Model files: SQL with a YAML front-matter block inside a comment, so the file stays valid SQL.
 *
 * ```sql
 * /*---
 * name: pql_users
 * key: user_id
 * params:
 *   lookback_days: { type: integer, default: 14, min: 1, max: 365 }
 * ---*\/
 * select ... where occurred_at >= current_date - :lookback_days
 * ```
 *
 * Glossary:
 * - base file `models/x.sql`; dialect override `models/x.<dialect>.sql`, used instead on that dialect. An
 *   override without its own front matter takes the base file's.
 * - body: the SQL after the front matter, with the comment blanked so line numbers match the file.
 * - hash: the model's version (sha256 of the file contents used, first 12 hex).
 *
 * Called by `pqlsync compile`, `plan`, `run` and `evaluate` before compiling. Every front-matter problem is
 * reported together, located as `models/x.sql:LINE (field.path)`.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { distance } from 'fastest-levenshtein';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { yamlToJs } from '../util/yaml-to-js.js';
import { z } from 'zod';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { DIALECTS, type Dialect } from '../warehouse/warehouse-adapter.js';
import { describeValue, throwModelIssues, type ModelIssue } from './model-issues.js';
import { checkParamValue, ENUM_VALUE, PARAM_TYPES, type ParamSpec } from './param-spec.js';

export const MODEL_ENTITIES = ['user', 'account'] as const;
export type ModelEntity = (typeof MODEL_ENTITIES)[number];

export interface ModelFile {
  name: string;
  description: string;
  /** The column that identifies a row (the match key's source). */
  key: string;
  entity?: ModelEntity;
  /** The name of the date param that sets the point-in-time date, for backtests. */
  asOf?: string;
  params: Record<string, ParamSpec>;
  /** The base file (`models/x.sql`), or the override when there is no base file; relative to cwd when inside it. */
  path: string;
  /** The dialect override (`models/x.bigquery.sql`) when one was used. */
  dialectPath?: string;
  /** The file whose front matter declared the params (lines in `ParamSpec.line` refer to it). */
  frontMatterPath: string;
  /** The SQL after the front matter; the comment is replaced by blank lines so line numbers stay true. */
  body: string;
  /** The file `body` comes from: `dialectPath ?? path`. */
  bodyPath: string;
  /** sha256 of the contents used, first 12 hex: the model's version. */
  hash: string;
}

const MODEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TOP_KEYS = ['name', 'description', 'key', 'entity', 'as_of', 'params'] as const;
const PARAM_KEYS = [
  'type',
  'default',
  'min',
  'max',
  'values',
  'allowed_schemas',
  'description',
  'required',
] as const;

const paramSchema = z.strictObject({
  type: z.enum(PARAM_TYPES),
  default: z.unknown().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  values: z.array(z.string()).min(1).optional(),
  allowed_schemas: z.array(z.string()).min(1).optional(),
  description: z.string().optional(),
  required: z.boolean().optional(),
});

const frontMatterSchema = z.strictObject({
  name: z.string(),
  description: z.string().optional(),
  key: z.string().min(1),
  entity: z.enum(MODEL_ENTITIES).optional(),
  as_of: z.string().optional(),
  params: z.record(z.string(), paramSchema).optional(),
});
type FrontMatter = z.infer<typeof frontMatterSchema>;

/** A path as printed in messages: relative to the working directory when inside it, else absolute. */
export function displayPath(file: string): string {
  const abs = path.resolve(file);
  const rel = path.relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

/** The model names in `modelsDir` (base files and dialect overrides), sorted. Missing folder: none. */
export async function listModels(modelsDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(modelsDir);
  } catch {
    return [];
  }
  const names = new Set<string>();
  for (const entry of entries) {
    if (!entry.endsWith('.sql')) continue;
    const parts = entry.slice(0, -'.sql'.length).split('.');
    const name =
      parts.length === 2 && (DIALECTS as readonly string[]).includes(parts[1] ?? '')
        ? parts[0]
        : entry.slice(0, -4);
    if (name && MODEL_NAME.test(name)) names.add(name);
  }
  return [...names].sort();
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function notFound(modelsDir: string, name: string, dialect: Dialect): Promise<PqlsyncError> {
  const available = await listModels(modelsDir);
  const dir = displayPath(modelsDir);
  const list =
    available.length > 0 ? `available models: ${available.join(', ')}` : 'the folder has no models';
  const closest = available
    .map((m) => ({ m, d: distance(m.toLowerCase(), name.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  const hint =
    closest && closest.d <= Math.max(2, Math.floor(name.length / 3))
      ? `did you mean "${closest.m}"?`
      : `create ${path.join(dir, `${name}.sql`)} or pass --models-dir`;
  return new PqlsyncError(
    'MODEL_NOT_FOUND',
    `model "${name}" not found in ${dir} (for ${dialect}); ${list}`,
    { hint },
  );
}

/** A file split into its front matter (YAML text and the line it starts on) and the blanked body. */
interface SplitFile {
  yaml?: { text: string; firstLine: number };
  body: string;
  issue?: ModelIssue;
}

function splitFrontMatter(text: string, file: string): SplitFile {
  const lead = /^\s*/.exec(text)?.[0] ?? '';
  if (!text.startsWith('/*---', lead.length)) return { body: text };
  const openLine = lead.split('\n').length;
  const afterOpen = text.indexOf('\n', lead.length);
  const close = /^[ \t]*---\*\/[ \t]*$/m.exec(text.slice(Math.max(afterOpen, 0)));
  if (afterOpen === -1 || !close) {
    return {
      body: text,
      issue: {
        location: { file, line: openLine },
        message: 'the front matter /*--- is never closed; expected a line ---*/ after the YAML',
      },
    };
  }
  const closeStart = afterOpen + close.index;
  const closeEnd = closeStart + close[0].length;
  const blanked = text.slice(0, closeEnd).replace(/[^\n]/g, '');
  return {
    yaml: { text: text.slice(afterOpen + 1, closeStart), firstLine: openLine + 1 },
    body: blanked + text.slice(closeEnd),
  };
}

/** The file line of a front-matter path: the key of the deepest existing entry along the path. */
function lineOfPath(
  doc: Document,
  counter: LineCounter,
  firstLine: number,
  at: readonly PropertyKey[],
): number {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const seg of at) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      offset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (!item) break;
      offset = isScalar(item) || isMap(item) || isSeq(item) ? item.range?.[0] : undefined;
      node = item;
    } else break;
  }
  return offset === undefined ? firstLine - 1 : firstLine + counter.linePos(offset).line - 1;
}

function zodIssueMessage(issue: z.core.$ZodIssue): { at: PropertyKey[]; message: string }[] {
  const at = [...issue.path];
  switch (issue.code) {
    case 'invalid_type':
      return [
        {
          at,
          message:
            issue.input === undefined
              ? `required field is missing; expected ${issue.expected === 'string' ? 'a string' : issue.expected}`
              : `expected ${issue.expected === 'object' ? 'a mapping' : issue.expected}, found ${describeValue(issue.input)}`,
        },
      ];
    case 'invalid_value':
      return [
        {
          at,
          message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${describeValue(issue.input)}`,
        },
      ];
    case 'unrecognized_keys': {
      const known = at.length === 0 ? TOP_KEYS : PARAM_KEYS;
      return issue.keys.map((k) => ({
        at: [...at, k],
        message: `unknown field; expected one of ${known.join(', ')}`,
      }));
    }
    case 'too_small':
      return [{ at, message: 'expected a non-empty value' }];
    default:
      return [{ at, message: issue.message }];
  }
}

/** Semantic checks zod cannot express: name, as_of, and per-param consistency. */
function checkFrontMatter(fm: FrontMatter, expectedName: string): { at: PropertyKey[]; message: string }[] {
  const out: { at: PropertyKey[]; message: string }[] = [];
  if (fm.name !== '' && fm.name !== expectedName) {
    out.push({
      at: ['name'],
      message: `expected "${expectedName}" (the file name), found ${describeValue(fm.name)}`,
    });
  }
  const params = fm.params ?? {};
  if (fm.as_of !== undefined && params[fm.as_of]?.type !== 'date') {
    out.push({
      at: ['as_of'],
      message: `expected the name of a declared date param, found ${describeValue(fm.as_of)}`,
    });
  }
  for (const [name, p] of Object.entries(params)) {
    const at = (field?: string): PropertyKey[] => (field ? ['params', name, field] : ['params', name]);
    if (!PARAM_NAME.test(name)) {
      out.push({
        at: at(),
        message: `expected a param name of letters, digits and _ starting with a letter or _, found "${name}"`,
      });
    }
    for (const field of ['min', 'max'] as const) {
      if (p[field] !== undefined && p.type !== 'integer' && p.type !== 'number') {
        out.push({
          at: at(field),
          message: `${field} applies to integer and number params, found it on a ${p.type} param`,
        });
      }
    }
    if (p.min !== undefined && p.max !== undefined && p.max < p.min) {
      out.push({ at: at('max'), message: `expected max >= min (${p.min}), found ${p.max}` });
    }
    if (p.type === 'enum' && !p.values) {
      out.push({
        at: at('values'),
        message: 'required for an enum param; expected the list of allowed values',
      });
    }
    if (p.values && p.type !== 'enum' && p.type !== 'string' && p.type !== 'string[]') {
      out.push({
        at: at('values'),
        message: `values applies to enum, string and string[] params, found it on a ${p.type} param`,
      });
    }
    const badEnum = p.type === 'enum' ? (p.values ?? []).findIndex((v) => !ENUM_VALUE.test(v)) : -1;
    if (badEnum >= 0) {
      out.push({
        at: ['params', name, 'values', badEnum],
        message: `expected an enum value of letters, digits and _ (words separated by one space), found ${describeValue(p.values?.[badEnum])}`,
      });
    }
    if (p.allowed_schemas && p.type !== 'identifier') {
      out.push({
        at: at('allowed_schemas'),
        message: `allowed_schemas applies to identifier params, found it on a ${p.type} param`,
      });
    }
    if (p.required && p.default !== undefined) {
      out.push({ at: at('required'), message: 'a required param cannot have a default; remove one of them' });
    }
    if (p.default !== undefined) {
      const spec: ParamSpec = {
        type: p.type,
        required: false,
        line: 0,
        min: p.min,
        max: p.max,
        values: p.values,
        allowedSchemas: p.allowed_schemas,
      };
      const problem = checkParamValue(spec, p.default);
      if (problem) out.push({ at: at('default'), message: problem });
    }
  }
  return out;
}

/** The well-formed parts of an invalid front matter: string name/as_of and the params that parse on their own. */
function wellFormedParts(raw: unknown): FrontMatter {
  const obj = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  const rawParams =
    obj.params && typeof obj.params === 'object' ? (obj.params as Record<string, unknown>) : {};
  const params: NonNullable<FrontMatter['params']> = {};
  for (const [name, p] of Object.entries(rawParams)) {
    const one = paramSchema.safeParse(p);
    if (one.success) params[name] = one.data;
  }
  const asOf = obj.as_of;
  const asOfType =
    typeof asOf === 'string' ? (rawParams[asOf] as { type?: unknown } | undefined)?.type : undefined;
  return {
    name: typeof obj.name === 'string' ? obj.name : '',
    key: '',
    params,
    // An as_of naming a param that is malformed itself is reported there, not twice.
    ...(typeof asOf === 'string' && (asOfType === undefined || asOfType === 'date' || params[asOf])
      ? { as_of: asOf }
      : {}),
  };
}

interface ParsedFrontMatter {
  fm?: FrontMatter;
  params: Record<string, ParamSpec>;
  issues: ModelIssue[];
}

function parseFrontMatter(
  yaml: { text: string; firstLine: number },
  file: string,
  expectedName: string,
): ParsedFrontMatter {
  const counter = new LineCounter();
  const doc = parseDocument(yaml.text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const issues: ModelIssue[] = doc.errors.map((e) => ({
    location: { file, line: yaml.firstLine + counter.linePos(e.pos[0]).line - 1 },
    message: `invalid YAML: ${e.message}`,
  }));
  if (issues.length > 0) return { params: {}, issues };
  const located = (list: { at: PropertyKey[]; message: string }[]): ModelIssue[] =>
    list.map(({ at, message }) => ({
      location: {
        file,
        line: lineOfPath(doc, counter, yaml.firstLine, at),
        ...(at.length > 0 ? { path: at.map(String).join('.') } : {}),
      },
      message,
    }));
  const js = yamlToJs(doc, counter);
  if ('problem' in js) {
    const line = js.line === undefined ? yaml.firstLine : yaml.firstLine + js.line - 1;
    return { params: {}, issues: [{ location: { file, line }, message: js.problem }] };
  }
  const raw: unknown = js.value ?? {};
  const parsed = frontMatterSchema.safeParse(raw, { reportInput: true, jitless: true }); // parsed once: see load-config
  if (!parsed.success) {
    // Still run the semantic checks on the parts that are well-formed, so one pass reports everything.
    const structural = parsed.error.issues.flatMap(zodIssueMessage);
    return {
      params: {},
      issues: located([...structural, ...checkFrontMatter(wellFormedParts(raw), expectedName)]),
    };
  }
  const fm = parsed.data;
  const params: Record<string, ParamSpec> = {};
  for (const [name, p] of Object.entries(fm.params ?? {})) {
    params[name] = {
      type: p.type,
      required: p.required ?? false,
      line: lineOfPath(doc, counter, yaml.firstLine, ['params', name]),
      ...(p.default !== undefined ? { default: p.default } : {}),
      ...(p.min !== undefined ? { min: p.min } : {}),
      ...(p.max !== undefined ? { max: p.max } : {}),
      ...(p.values ? { values: p.values } : {}),
      ...(p.allowed_schemas ? { allowedSchemas: p.allowed_schemas } : {}),
      ...(p.description !== undefined ? { description: p.description } : {}),
    };
  }
  return { fm, params, issues: located(checkFrontMatter(fm, expectedName)) };
}

const MODEL_HINT =
  'fix the front matter between /*--- and ---*/ (see the model file reference in the README)';

/**
 * Reads model `name` from `modelsDir` for `dialect`: the override `x.<dialect>.sql` when present, else `x.sql`.
 * Throws MODEL_NOT_FOUND (with the available models and a "did you mean") or MODEL_INVALID (all problems).
 */
export async function loadModel(modelsDir: string, name: string, dialect: Dialect): Promise<ModelFile> {
  if (!MODEL_NAME.test(name)) throw await notFound(modelsDir, name, dialect);
  const baseFile = path.join(modelsDir, `${name}.sql`);
  const overrideFile = path.join(modelsDir, `${name}.${dialect}.sql`);
  const [baseText, overrideText] = await Promise.all([readIfExists(baseFile), readIfExists(overrideFile)]);
  if (baseText === undefined && overrideText === undefined) throw await notFound(modelsDir, name, dialect);

  const basePath = displayPath(baseFile);
  const overridePath = displayPath(overrideFile);
  const base = baseText === undefined ? undefined : splitFrontMatter(baseText, basePath);
  const override = overrideText === undefined ? undefined : splitFrontMatter(overrideText, overridePath);
  const bodySplit = override ?? base;
  const bodyPath = override ? overridePath : basePath;
  const fmSplit = override?.yaml || override?.issue ? override : base;
  const fmPath = fmSplit === override ? overridePath : basePath;
  const issues: ModelIssue[] = [];
  if (base?.issue) issues.push(base.issue);
  if (override?.issue) issues.push(override.issue);
  if (!fmSplit?.yaml && issues.length === 0) {
    issues.push({
      location: { file: fmPath, line: 1 },
      message:
        'no front matter; expected the file to start with a /*--- ... ---*/ comment holding name, key and params',
    });
  }
  const parsed = fmSplit?.yaml ? parseFrontMatter(fmSplit.yaml, fmPath, name) : { params: {}, issues: [] };
  issues.push(...parsed.issues);
  throwModelIssues('MODEL_INVALID', fmPath, name, issues, MODEL_HINT);
  const fm = parsed.fm as FrontMatter;

  const usedText =
    fmSplit === override || baseText === undefined
      ? (overrideText ?? '')
      : (baseText ?? '') + (overrideText ?? '');
  return {
    name,
    description: fm.description ?? '',
    key: fm.key,
    ...(fm.entity ? { entity: fm.entity } : {}),
    ...(fm.as_of ? { asOf: fm.as_of } : {}),
    params: parsed.params,
    path: baseText === undefined ? overridePath : basePath,
    ...(override ? { dialectPath: overridePath } : {}),
    frontMatterPath: fmPath,
    body: bodySplit?.body ?? '',
    bodyPath,
    hash: createHash('sha256').update(usedText).digest('hex').slice(0, 12),
  };
}
