/**
 * Compiles a model file for one dialect: resolves its params, checks every value, and renders SQL whose values
 * are bound parameters (BoundSql). Also `bindSql`, the same placeholder rules for pqlsync's own SQL files.
 *
 * Glossary:
 * - resolution order: the param's default, then the sync's config params, then `--vars` (last wins).
 * - reference: `:name` or `{{ name }}` (the same thing), or `{{ macro(args) }}`; found by the lexer outside
 *   strings and comments.
 * - value params are bound with a typed placeholder; identifier params are validated and quoted; enum params
 *   emit one of their declared values. Nothing else enters the SQL text.
 *
 * Called by `pqlsync compile`, plan/run (before materialising the model) and evaluate. Every problem is collected
 * and reported together: MODEL_INVALID for the SQL's shape, MODEL_PARAM_INVALID for names and values.
 */
import { distance } from 'fastest-levenshtein';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { BindType, BoundSql, Dialect } from '../warehouse/warehouse-adapter.js';
import { MACROS, renderDaysAgo, renderHashRow, renderInList, renderNow } from './macros.js';
import type { ModelFile } from './model-file.js';
import { describeValue, throwModelIssues, type ModelIssue } from './model-issues.js';
import { BIND_TYPE_OF, checkIdentifier, checkParamValue, type ParamSpec } from './param-spec.js';
import { Binder, quoteIdentifierParts, typedPlaceholder } from './placeholders.js';
import { lexSql, type SqlReference } from './sql-lexer.js';

export interface CompileOptions {
  dialect: Dialect;
  /** Values from `--vars`; they win over everything. (Default: none) */
  vars?: Record<string, unknown>;
  /** Values from the sync's `params` in the project config; they win over defaults. (Default: none) */
  configParams?: Record<string, unknown>;
}

export interface CompiledModel extends BoundSql {
  model: ModelFile;
  /** Every declared param's resolved value (null when unset and not required). */
  values: Record<string, unknown>;
}

type Source = 'the default' | "the sync's params" | '--vars';

const COLUMN_REF = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)*$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MACRO_CALL = /^([A-Za-z_][A-Za-z0-9_]*)\s*\(([^()]*)\)$/;
const MACRO_LIST = 'now(), days_ago(n), hash_row(col, ...), in_list(param)';
const PARAM_HINT =
  "declare params in the front matter; set values in the sync's params or with --vars '{\"name\": value}'";

function didYouMean(name: string, candidates: readonly string[]): string {
  const best = candidates
    .map((c) => ({ c, d: distance(c.toLowerCase(), name.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  return best && best.d <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean "${best.c}"?)` : '';
}

function declaredList(params: Record<string, ParamSpec>): string {
  const names = Object.keys(params);
  return names.length > 0 ? `declared params: ${names.join(', ')}` : 'the model declares no params';
}

/** Resolves each declared param from default < config < vars, reporting unknown, missing and invalid values. */
function resolveValues(
  model: ModelFile,
  options: CompileOptions,
  issues: ModelIssue[],
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const sources: [Source, Record<string, unknown> | undefined][] = [
    ["the sync's params", options.configParams],
    ['--vars', options.vars],
  ];
  for (const [source, given] of sources) {
    for (const name of Object.keys(given ?? {})) {
      if (!Object.hasOwn(model.params, name)) {
        const what = source === '--vars' ? '--vars sets' : "the sync's params set";
        issues.push({
          location: { file: model.frontMatterPath, param: name },
          message: `${what} "${name}", which the model does not declare${didYouMean(name, Object.keys(model.params))}; ${declaredList(model.params)}`,
        });
      }
    }
  }
  for (const [name, spec] of Object.entries(model.params)) {
    let value: unknown = spec.default;
    let source: Source = 'the default';
    const location = { file: model.frontMatterPath, line: spec.line, param: name };
    for (const [s, given] of sources) {
      if (given && Object.hasOwn(given, name) && given[name] === null) {
        // null is no value: it would replace the default and skip every check (min/max, values) on the way.
        const give = `give ${/^[aeiou]/.test(spec.type) ? 'an' : 'a'} ${spec.type} value`;
        const hasDefault = spec.default !== undefined && spec.default !== null;
        const instead = hasDefault
          ? `${give}, or leave it out to use the default (${describeValue(spec.default)})`
          : spec.required
            ? give
            : `${give}, or leave it out to leave it unset`;
        const what = s === '--vars' ? '--vars sets' : "the sync's params set";
        issues.push({ location, message: `${what} "${name}" to null; ${instead}` });
      } else if (given && Object.hasOwn(given, name) && given[name] !== undefined) {
        value = given[name];
        source = s;
      }
    }
    if (value === undefined || value === null) {
      if (spec.required || spec.type === 'identifier' || spec.type === 'enum') {
        issues.push({
          location,
          message: `no value for required ${spec.type} param; set it in the sync's params or with --vars`,
        });
      }
      values[name] = null;
      continue;
    }
    const problem = checkParamValue(spec, value);
    if (problem) issues.push({ location, message: `${problem} (from ${source})` });
    values[name] = value;
  }
  return values;
}

interface RenderContext {
  model: ModelFile;
  dialect: Dialect;
  values: Record<string, unknown>;
  binder: Binder;
  /** Problems with names and values (MODEL_PARAM_INVALID). */
  paramIssues: ModelIssue[];
  /** Problems with the SQL's shape (MODEL_INVALID). */
  shapeIssues: ModelIssue[];
}

function at(ctx: RenderContext, ref: SqlReference, param?: string): ModelIssue['location'] {
  return { file: ctx.model.bodyPath, line: ref.line, column: ref.column, ...(param ? { param } : {}) };
}

/** The declared spec for a name used in SQL, or an issue and undefined. */
function lookup(ctx: RenderContext, ref: SqlReference, name: string, shown: string): ParamSpec | undefined {
  const spec = ctx.model.params[name];
  if (!spec) {
    ctx.paramIssues.push({
      location: at(ctx, ref, name),
      message: `${shown} is not declared in the front matter${didYouMean(name, Object.keys(ctx.model.params))}; ${declaredList(ctx.model.params)}`,
    });
  }
  return spec;
}

/** SQL for a bare param reference (`:name` or `{{ name }}`). */
function renderParam(ctx: RenderContext, ref: SqlReference, name: string, shown: string): string {
  const spec = lookup(ctx, ref, name, shown);
  const value = ctx.values[name];
  if (!spec) return '';
  if (spec.type === 'identifier') {
    const checked = typeof value === 'string' ? checkIdentifier(spec, value) : undefined;
    return checked && 'parts' in checked ? quoteIdentifierParts(checked.parts, ctx.dialect) : '';
  }
  if (spec.type === 'enum') return typeof value === 'string' ? value : '';
  const bindType = BIND_TYPE_OF[spec.type] as BindType;
  if (bindType === 'string[]' && (ctx.dialect === 'snowflake' || ctx.dialect === 'redshift')) {
    ctx.paramIssues.push({
      location: at(ctx, ref, name),
      message: `string[] param ${shown} cannot be bound on ${ctx.dialect} (no array binds); expected {{ in_list(${name}) }}`,
    });
    return '';
  }
  return typedPlaceholder(ctx.binder, name, bindType, value);
}

/** `now()`: the model's as_of date (bound) when it declares one and it is set, else the current timestamp. */
function renderPointInTime(ctx: RenderContext): string {
  const asOf = ctx.model.asOf;
  const value = asOf === undefined ? null : ctx.values[asOf];
  if (asOf === undefined || value === null || value === undefined) return renderNow(ctx.dialect);
  return `CAST(${typedPlaceholder(ctx.binder, asOf, 'date', value)} AS TIMESTAMP)`;
}

function renderMacro(ctx: RenderContext, ref: SqlReference, macro: string, args: string[]): string {
  const shape = (message: string): string => {
    ctx.shapeIssues.push({ location: at(ctx, ref), message });
    return '';
  };
  const arity = (n: number, usage: string): boolean => {
    if (args.length === n) return true;
    shape(
      `${macro}() takes ${n} argument${n === 1 ? '' : 's'}, found ${args.length}; expected {{ ${usage} }}`,
    );
    return false;
  };
  switch (macro) {
    case 'now':
      return arity(0, 'now()') ? renderPointInTime(ctx) : '';
    case 'days_ago': {
      if (!arity(1, 'days_ago(n)')) return '';
      const arg = args[0] ?? '';
      if (/^\d+$/.test(arg)) return renderDaysAgo(ctx.dialect, arg, renderPointInTime(ctx));
      if (!NAME.test(arg))
        return shape(`days_ago() expects an integer literal or an integer param, found "${arg}"`);
      const spec = lookup(ctx, ref, arg, arg);
      if (!spec) return '';
      if (spec.type !== 'integer') {
        ctx.paramIssues.push({
          location: at(ctx, ref, arg),
          message: `days_ago() expects an integer param, found ${arg} of type ${spec.type}`,
        });
        return '';
      }
      const base = renderPointInTime(ctx);
      return renderDaysAgo(ctx.dialect, typedPlaceholder(ctx.binder, arg, 'integer', ctx.values[arg]), base);
    }
    case 'hash_row': {
      if (args.length === 0)
        return shape('hash_row() needs at least one column; expected {{ hash_row(col, ...) }}');
      const bad = args.find((a) => !COLUMN_REF.test(a));
      if (bad !== undefined)
        return shape(`hash_row() takes column names like score or c.score, found "${bad}"`);
      return renderHashRow(ctx.dialect, args);
    }
    case 'in_list': {
      if (!arity(1, 'in_list(param)')) return '';
      const arg = args[0] ?? '';
      const spec = NAME.test(arg) ? lookup(ctx, ref, arg, arg) : undefined;
      if (!NAME.test(arg)) return shape(`in_list() expects a string[] param name, found "${arg}"`);
      if (!spec) return '';
      if (spec.type !== 'string[]') {
        ctx.paramIssues.push({
          location: at(ctx, ref, arg),
          message: `in_list() expects a string[] param, found ${arg} of type ${spec.type}`,
        });
        return '';
      }
      const value = ctx.values[arg];
      if (ctx.dialect === 'snowflake' || ctx.dialect === 'redshift') {
        return renderInList(
          ctx.dialect,
          ctx.binder.elements(arg, 'string[]', Array.isArray(value) ? value : []),
        );
      }
      return renderInList(ctx.dialect, typedPlaceholder(ctx.binder, arg, 'string[]', value));
    }
    default:
      return shape(`unknown macro ${macro}()${didYouMean(macro, MACROS)}; expected one of ${MACRO_LIST}`);
  }
}

function renderReference(ctx: RenderContext, ref: SqlReference): string {
  if (ref.kind === 'param') return renderParam(ctx, ref, ref.text, `:${ref.text}`);
  if (NAME.test(ref.text)) return renderParam(ctx, ref, ref.text, `{{ ${ref.text} }}`);
  const call = MACRO_CALL.exec(ref.text);
  if (!call) {
    ctx.shapeIssues.push({
      location: at(ctx, ref),
      message: `{{ ${ref.text} }} is not a param name or a macro call; expected {{ name }} or one of ${MACRO_LIST}`,
    });
    return '';
  }
  const argText = (call[2] ?? '').trim();
  const args = argText === '' ? [] : argText.split(',').map((a) => a.trim());
  return renderMacro(ctx, ref, call[1] ?? '', args);
}

/** Replaces each reference in `text` by what `render` returns for it. */
function replaceReferences(
  text: string,
  refs: readonly SqlReference[],
  render: (ref: SqlReference) => string,
): string {
  let out = '';
  let last = 0;
  for (const ref of refs) {
    out += text.slice(last, ref.start) + render(ref);
    last = ref.end;
  }
  return out + text.slice(last);
}

/**
 * Compiles `model` for `options.dialect`. Throws MODEL_INVALID (unterminated strings, bad `{{ }}`) or
 * MODEL_PARAM_INVALID (unknown names, missing or invalid values), each listing every problem found.
 * SQL with more than one statement (a `;` that more SQL follows) is MODEL_INVALID. A trailing `;` is dropped
 * (also before a final comment) and a trailing line comment ends with a newline, so the SQL can be wrapped
 * (`CREATE TABLE ... AS (<sql>)`).
 */
export function compileModel(model: ModelFile, options: CompileOptions): CompiledModel {
  const { dialect } = options;
  const lexed = lexSql(model.body, dialect);
  const shapeIssues: ModelIssue[] = lexed.issues.map((i) => ({
    location: { file: model.bodyPath, line: i.line, column: i.column },
    message: i.message,
  }));
  // One statement only: pqlsync wraps the model (`select * from (<model>) m ...`), and a `;` that closes the
  // wrapper would let a model run statements of its own, even in a `plan`.
  for (const s of lexed.separators) {
    shapeIssues.push({
      location: { file: model.bodyPath, line: s.line, column: s.column },
      message:
        'a ";" ends the statement here and more SQL follows; a model is exactly one query (a ";" may only end it)',
    });
  }
  // Terminators become spaces (same offsets for the references before them), so the SQL can be wrapped.
  let body = model.body;
  for (const t of lexed.terminators) body = `${body.slice(0, t.offset)} ${body.slice(t.offset + 1)}`;
  const paramIssues: ModelIssue[] = [];
  const values = resolveValues(model, options, paramIssues);
  const ctx: RenderContext = {
    model,
    dialect,
    values,
    binder: new Binder(dialect),
    paramIssues,
    shapeIssues,
  };
  const rendered = replaceReferences(body, lexed.references, (ref) => renderReference(ctx, ref));
  throwModelIssues(
    'MODEL_INVALID',
    model.bodyPath,
    model.name,
    shapeIssues,
    'fix the SQL at the lines shown',
  );
  throwModelIssues('MODEL_PARAM_INVALID', model.bodyPath, model.name, paramIssues, PARAM_HINT);
  const trimmed = rendered.trimEnd();
  // A trailing line comment would swallow whatever a caller appends (`(... -- note)`), so end its line.
  const lastLine = trimmed.slice(trimmed.lastIndexOf('\n') + 1);
  const sql = /--|#|\/\//.test(lastLine) ? `${trimmed}\n` : trimmed;
  return { model, dialect, sql, params: ctx.binder.params, values };
}

/** A value for `bindSql`: its bind type and the JS value. */
export interface BindValue {
  type: BindType;
  value: unknown;
}

/**
 * Binds `:name` placeholders in pqlsync's own SQL (files under `sql/`) for `dialect`, with the same lexer as
 * models, so state and plan SQL is written once. Placeholders are plain (`$1`, `:1`, `$name`, `@name`); write
 * casts in the SQL where an engine needs them. Array values on snowflake/redshift expand to one placeholder per
 * element (`:1, :2, :3`; `NULL` when empty), so write `IN (:keys)` there. `{{ }}` is not allowed here.
 * Throws INTERNAL when a name has no value, a value is never used, or the text has `{{ }}` or an open string.
 */
export function bindSql(text: string, values: Record<string, BindValue>, dialect: Dialect): BoundSql {
  const lexed = lexSql(text, dialect);
  const problems = lexed.issues.map((i) => `line ${i.line}:${i.column}: ${i.message}`);
  const binder = new Binder(dialect);
  const used = new Set<string>();
  const sql = replaceReferences(text, lexed.references, (ref) => {
    const bound = ref.kind === 'param' ? values[ref.text] : undefined;
    if (ref.kind === 'template')
      problems.push(`line ${ref.line}:${ref.column}: {{ }} is only for model files; use :name`);
    else if (!bound) problems.push(`line ${ref.line}:${ref.column}: :${ref.text} has no value`);
    if (!bound) return '';
    used.add(ref.text);
    if (
      (bound.type === 'string[]' || bound.type === 'integer[]') &&
      (dialect === 'snowflake' || dialect === 'redshift')
    ) {
      const list = binder.elements(ref.text, bound.type, Array.isArray(bound.value) ? bound.value : []);
      return list.length > 0 ? list.join(', ') : 'NULL';
    }
    return binder.placeholder(ref.text, bound.type, bound.value);
  });
  for (const name of Object.keys(values))
    if (!used.has(name)) problems.push(`:${name} is given a value but never used`);
  if (problems.length > 0) {
    throw new PqlsyncError('INTERNAL', `cannot bind SQL for ${dialect}: ${problems.join('; ')}`, {
      details: { sql: text.slice(0, 200), values: Object.keys(values) },
    });
  }
  return { dialect, sql, params: binder.params };
}
