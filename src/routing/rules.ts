/**
 * Routing rules: matched in order on model columns; the first rule whose every condition holds decides the
 * owner strategy, whether the record's owner is set and whether a task is created. No match: the record's
 * existing owner gets a task.
 */
import type { RoutingConfig } from '../config/config-schema.js';
import type { Row } from '../warehouse/warehouse-adapter.js';

export type RoutingRule = RoutingConfig['rules'][number];
type Condition = RoutingRule['when'][string];
type Scalar = string | number | boolean | null;

export interface MatchedRule {
  rule: RoutingRule;
  /** `name`, else `rule <n>` (1-based). */
  name: string;
  /** Index in `rules`, or -1 for the implicit default. */
  index: number;
}

export const DEFAULT_RULE: RoutingRule = {
  when: {},
  assign: { strategy: 'existing_owner' },
  set_owner: false,
  task: true,
  alert: false,
};

export function ruleName(rule: RoutingRule, index: number): string {
  return rule.name ?? (index < 0 ? 'default' : `rule ${index + 1}`);
}

/** The first rule matching the row. */
export function matchRule(row: Row, rules: readonly RoutingRule[]): MatchedRule {
  for (const [index, rule] of rules.entries()) {
    const holds = Object.entries(rule.when).every(([column, cond]) =>
      conditionHolds(cellOf(row, column), cond),
    );
    if (holds) return { rule, name: ruleName(rule, index), index };
  }
  return { rule: DEFAULT_RULE, name: 'default', index: -1 };
}

function cellOf(row: Row, column: string): unknown {
  return column in row ? row[column] : row[column.toLowerCase()];
}

/** Values compare as numbers when both look numeric, else as text (case-sensitive), null only with null. */
function same(a: unknown, b: Scalar): boolean {
  if (a === null || a === undefined || b === null) return (a === null || a === undefined) && b === null;
  if (typeof b === 'boolean' || typeof a === 'boolean') return String(a) === String(b);
  const na = Number(a);
  const nb = Number(b);
  if (
    typeof b === 'number' ||
    (String(a).trim() !== '' && String(b).trim() !== '' && !isNaN(na) && !isNaN(nb))
  ) {
    return na === nb;
  }
  return String(a instanceof Date ? a.toISOString() : a) === String(b);
}

function num(v: unknown): number | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const n = typeof v === 'bigint' ? Number(v) : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function conditionHolds(value: unknown, cond: Condition): boolean {
  if (cond === null || typeof cond !== 'object') return same(value, cond);
  const n = num(value);
  if (cond.eq !== undefined && !same(value, cond.eq)) return false;
  if (cond.ne !== undefined && same(value, cond.ne)) return false;
  if (cond.gt !== undefined && !(n !== undefined && n > cond.gt)) return false;
  if (cond.gte !== undefined && !(n !== undefined && n >= cond.gte)) return false;
  if (cond.lt !== undefined && !(n !== undefined && n < cond.lt)) return false;
  if (cond.lte !== undefined && !(n !== undefined && n <= cond.lte)) return false;
  if (cond.in !== undefined && !cond.in.some((v) => same(value, v))) return false;
  if (cond.not_in !== undefined && cond.not_in.some((v) => same(value, v))) return false;
  return true;
}
