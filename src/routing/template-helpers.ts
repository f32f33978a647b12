/**
 * Helpers of the task text templates (task-template.ts), so a hand-off reads like a person wrote it:
 *
 * - sections: `{{#name}}…{{/name}}` keeps its text only when `name` has a value (not null, '', 0, false or an
 *   empty list); `{{^name}}…{{/name}}` only when it has none. So a clause about invites disappears for a user who
 *   invited nobody, instead of reading "invited 0 teammates" or "at -". A line left empty only by sections
 *   goes too.
 * - calls in a placeholder:
 *   - `{{ count(n, 'teammate') }}` → `1 teammate`, `3 teammates`, `1,250 teammates`; a third argument gives an
 *     irregular plural: `count(n, 'person', 'people')`.
 *   - `{{ times(n) }}` → `once`, `twice`, `3 times`.
 *   - `{{ date(x) }}` → the day `YYYY-MM-DD` of a date or timestamp.
 *   - `{{ percent(x) }}` → `0.25` as `25%`.
 *   - `{{ lower(x) }}`, `{{ upper(x) }}`.
 *   Arguments are column names, quoted text or numbers.
 */
import { PqlsyncError } from '../errors/pqlsync-error.js';

/** A section `{{#name}}…{{/name}}` or inverted section `{{^name}}…{{/name}}` (the same name closes it). */
const SECTION = /\{\{\s*([#^])\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}([\s\S]*?)\{\{\s*\/\s*\2\s*\}\}/g;
/** A call `name(arg, …)`: the whole inside of a placeholder. */
const CALL = /^([A-Za-z_][A-Za-z0-9_]*)\s*\(([\s\S]*)\)$/;
const ARG = /^\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*))\s*$/;

export const HELPERS = ['count', 'times', 'date', 'percent', 'lower', 'upper'] as const;

/** True when a value counts as present for a section. */
export function present(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === '') return false;
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v) !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'string') return v.trim() !== '' && v.trim() !== '0';
  return true;
}

/** `1250` → `1,250`. */
function grouped(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : String(Math.round(n * 100) / 100);
}

function asNumber(v: unknown): number | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** `count(3, 'teammate')` → `3 teammates`; `count(1, 'person', 'people')` → `1 person`. */
export function countOf(n: unknown, singular: string, plural?: string): string {
  const k = asNumber(n) ?? 0;
  return `${grouped(k)} ${k === 1 ? singular : (plural ?? pluralOf(singular))}`;
}

/** English plural of a noun: `company` → `companies`, `class` → `classes`, `seat` → `seats`. */
export function pluralOf(word: string): string {
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  return `${word}s`;
}

/** `1` → `once`, `2` → `twice`, `5` → `5 times`. */
export function timesOf(n: unknown): string {
  const k = asNumber(n) ?? 0;
  return k === 1 ? 'once' : k === 2 ? 'twice' : `${grouped(k)} times`;
}

/** The day of a date, timestamp or ISO text; '' for null. */
export function dayOf(v: unknown): string {
  if (v === null || v === undefined || v === '') return '';
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  const text = String(v);
  return /^\d{4}-\d{2}-\d{2}/.test(text) ? text.slice(0, 10) : text;
}

/** Where a template is, for errors, and how a plain value prints. */
export interface TemplateContext {
  vars: Record<string, unknown>;
  /** Names used that are not in `vars` (filled in, reported by the caller). */
  unknown: Set<string>;
  format: (v: unknown) => string;
  where: { sync: string; path: string };
}

/** A variable's value (exact name, else lower case); records the name when unknown. */
export function lookup(name: string, ctx: TemplateContext): unknown {
  const key = name in ctx.vars ? name : name.toLowerCase();
  if (!(key in ctx.vars)) {
    ctx.unknown.add(name);
    return undefined;
  }
  return ctx.vars[key];
}

/** Marks where a section dropped its text, so a line left empty by sections alone can go too. */
const DROPPED = '\u0000';

/** Expands sections (outermost first; a section may hold other sections). */
export function expandSections(template: string, ctx: TemplateContext): string {
  let out = template;
  for (let i = 0; i < 20; i++) {
    const next = out.replace(SECTION, (_m, kind: string, name: string, inner: string) => {
      const has = present(lookup(name, ctx));
      return (kind === '#') === has ? inner : DROPPED;
    });
    if (next === out) break;
    out = next;
  }
  return out;
}

/** Drops the lines that only dropped sections made (nothing else on them), then the marks. */
export function dropEmptiedLines(text: string): string {
  if (!text.includes(DROPPED)) return text;
  return text
    .split('\n')
    .filter((line) => !(line.includes(DROPPED) && line.replaceAll(DROPPED, '').trim() === ''))
    .join('\n')
    .replaceAll(DROPPED, '');
}

function fail(ctx: TemplateContext, message: string): never {
  throw new PqlsyncError('CONFIG_INVALID', `the task template ${message}`, {
    location: { sync: ctx.where.sync, path: ctx.where.path },
  });
}

/** The value of one placeholder's inside when it is a call; undefined when it is not. */
export function callHelper(inside: string, ctx: TemplateContext): string | undefined {
  const m = CALL.exec(inside.trim());
  if (!m) return undefined;
  const fn = m[1]!;
  const args = splitArgs(m[2]!).map((text) => {
    const a = ARG.exec(text);
    if (!a) fail(ctx, `calls ${fn}() with '${text.trim()}', which is not a column name, 'text' or a number`);
    if (a[1] !== undefined || a[2] !== undefined) return (a[1] ?? a[2])!.replace(/\\(.)/g, '$1');
    if (a[3] !== undefined) return Number(a[3]);
    return lookup(a[4]!, ctx);
  });
  const arity = (min: number, max: number) => {
    if (args.length < min || args.length > max)
      fail(
        ctx,
        `calls ${fn}() with ${args.length} argument${args.length === 1 ? '' : 's'}; it takes ${min === max ? min : `${min} to ${max}`}`,
      );
  };
  switch (fn) {
    case 'count':
      arity(2, 3);
      return countOf(args[0], String(args[1]), args[2] === undefined ? undefined : String(args[2]));
    case 'times':
      arity(1, 1);
      return timesOf(args[0]);
    case 'date':
      arity(1, 1);
      return dayOf(args[0]);
    case 'percent': {
      arity(1, 1);
      const n = asNumber(args[0]);
      return n === undefined ? '' : `${Math.round(n * 1000) / 10}%`;
    }
    case 'lower':
      arity(1, 1);
      return args[0] === null || args[0] === undefined ? '' : ctx.format(args[0]).toLowerCase();
    case 'upper':
      arity(1, 1);
      return args[0] === null || args[0] === undefined ? '' : ctx.format(args[0]).toUpperCase();
    default:
      return fail(ctx, `calls ${fn}(), which is not a template helper (helpers: ${HELPERS.join(', ')})`);
  }
}

/** Splits call arguments on commas outside quotes. */
function splitArgs(text: string): string[] {
  if (text.trim() === '') return [];
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      current += c;
      if (c === '\\' && i + 1 < text.length) current += text[++i];
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
      current += c;
    } else if (c === ',') {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out;
}
