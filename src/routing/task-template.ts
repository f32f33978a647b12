/**
 * Task text: `{{ name }}` placeholders over the model row (lower-case column names) and the routing values
 * `tier`, `previous_tier`, `key`, `sync`, `rule`, `due_date`, `due_at`, `owner`. Numbers print as they are,
 * dates as `YYYY-MM-DD` (timestamps as ISO-8601), lists joined with `, `, null as `-`. Sections
 * (`{{#name}}…{{/name}}`) and helpers (`{{ count(n, 'teammate') }}`, `times`, `date`, …) are in
 * template-helpers.ts. An unknown name is a config error naming the template and the names it may use.
 */
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { callHelper, dropEmptiedLines, expandSections, lookup } from './template-helpers.js';

const PLACEHOLDER = /\{\{(?![#^/])\s*([\s\S]*?)\s*\}\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Renders `template`; `where` is the config path named in errors (`syncs.users.routing.task.subject`). */
export function renderTemplate(
  template: string,
  vars: Record<string, unknown>,
  where: { sync: string; path: string },
): string {
  const unknown = new Set<string>();
  const ctx = { vars, unknown, format: formatValue, where };
  const out = dropEmptiedLines(
    expandSections(template, ctx).replace(PLACEHOLDER, (m, inside: string) => {
      if (!NAME.test(inside)) return callHelper(inside, ctx) ?? m;
      const v = lookup(inside, ctx);
      return inside in vars || inside.toLowerCase() in vars ? formatValue(v) : '';
    }),
  );
  if (unknown.size > 0) {
    throw new PqlsyncError(
      'CONFIG_INVALID',
      `the task template uses ${[...unknown].map((n) => `'${n}'`).join(', ')}, which ${unknown.size === 1 ? 'is' : 'are'} not a model column or routing value (available: ${Object.keys(vars).join(', ')})`,
      { location: { sync: where.sync, path: where.path } },
    );
  }
  return out;
}

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (v instanceof Date) {
    const iso = v.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.replace('.000Z', 'Z');
  }
  if (Array.isArray(v)) return v.map(formatValue).join(', ');
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The default body: every model column as `column: value`, one per line. */
export function defaultBody(row: Record<string, unknown>): string {
  return Object.entries(row)
    .filter(([c]) => !c.startsWith('__pqlsync'))
    .map(([c, v]) => `${c}: ${formatValue(v)}`)
    .join('\n');
}
