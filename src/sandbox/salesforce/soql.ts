/**
 * The SOQL subset the sandbox understands, parsed and evaluated over the in-memory records:
 * `SELECT f1, f2, Owner.Email | COUNT() FROM T [WHERE ...] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
 * [LIMIT n] [OFFSET n]` where conditions are `=, !=, <>, <, <=, >, >=, LIKE, IN (...), NOT IN (...)`
 * combined with AND, OR, NOT and parentheses; values are strings, numbers, true/false, null, dates, datetimes.
 *
 * Glossary:
 * - SoqlError: a whole-request failure with its Salesforce error code (`MALFORMED_QUERY`, `INVALID_FIELD`,
 *   `INVALID_TYPE`); the API turns it into a 400 body.
 * - FieldPath: `Email` or `Owner.Email` (a relationship name, then a field of the related record).
 */

export class SoqlError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

export type SoqlValue = string | number | boolean | null;

export type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; inner: Condition }
  | { kind: 'compare'; field: string[]; op: string; value: SoqlValue }
  | { kind: 'in'; field: string[]; negate: boolean; values: SoqlValue[] };

export interface SoqlQuery {
  count: boolean;
  fields: string[][];
  from: string;
  where?: Condition;
  orderBy: Array<{ field: string[]; descending: boolean; nullsLast: boolean }>;
  limit?: number;
  offset?: number;
}

type Token = { type: 'word' | 'string' | 'number' | 'op' | 'punct'; text: string };

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const c = soql.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      while (i < soql.length && soql.charAt(i) !== "'") {
        if (soql.charAt(i) === '\\' && i + 1 < soql.length) {
          const next = soql.charAt(i + 1);
          s += next === 'n' ? '\n' : next === 't' ? '\t' : next;
          i += 2;
        } else {
          s += soql.charAt(i++);
        }
      }
      if (i >= soql.length)
        throw new SoqlError('MALFORMED_QUERY', 'unexpected token: unterminated string literal');
      i++;
      tokens.push({ type: 'string', text: s });
    } else if (/[0-9-]/.test(c) && /[0-9]/.test(soql.charAt(c === '-' ? i + 1 : i))) {
      const m = /^-?\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?|^-?\d+(\.\d+)?/.exec(soql.slice(i));
      const text = m?.[0] ?? c;
      tokens.push({ type: /^\d{4}-\d{2}-\d{2}/.test(text) ? 'string' : 'number', text });
      i += text.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(soql.slice(i));
      const text = m?.[0] ?? c;
      tokens.push({ type: 'word', text });
      i += text.length;
    } else if ('<>!='.includes(c)) {
      const two = soql.slice(i, i + 2);
      const text = ['<=', '>=', '!=', '<>'].includes(two) ? two : c;
      tokens.push({ type: 'op', text });
      i += text.length;
    } else if ('(),'.includes(c)) {
      tokens.push({ type: 'punct', text: c });
      i++;
    } else {
      throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${c}'`);
    }
  }
  return tokens;
}

/** Parses one SOQL statement of the supported subset; throws SoqlError with MALFORMED_QUERY otherwise. */
export function parseSoql(soql: string): SoqlQuery {
  const tokens = tokenize(soql);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isKeyword = (word: string): boolean => peek()?.type === 'word' && peek()?.text.toUpperCase() === word;
  const unexpected = (): SoqlError =>
    new SoqlError(
      'MALFORMED_QUERY',
      peek() ? `unexpected token: '${peek()?.text}'` : 'unexpected end of query',
    );
  const expectKeyword = (word: string): void => {
    if (!isKeyword(word)) throw unexpected();
    pos++;
  };
  const expectPunct = (p: string): void => {
    if (peek()?.type !== 'punct' || peek()?.text !== p) throw unexpected();
    pos++;
  };
  const fieldPath = (): string[] => {
    const t = peek();
    if (t?.type !== 'word' || ['FROM', 'WHERE', 'AND', 'OR', 'NOT'].includes(t.text.toUpperCase()))
      throw unexpected();
    pos++;
    return t.text.split('.');
  };
  const value = (): SoqlValue => {
    const t = peek();
    if (!t) throw unexpected();
    pos++;
    if (t.type === 'string') return t.text;
    if (t.type === 'number') return Number(t.text);
    if (t.type === 'word') {
      const upper = t.text.toUpperCase();
      if (upper === 'TRUE') return true;
      if (upper === 'FALSE') return false;
      if (upper === 'NULL') return null;
    }
    pos--;
    throw unexpected();
  };
  const primary = (): Condition => {
    if (isKeyword('NOT')) {
      pos++;
      return { kind: 'not', inner: primary() };
    }
    if (peek()?.type === 'punct' && peek()?.text === '(') {
      pos++;
      const inner = orExpr();
      expectPunct(')');
      return inner;
    }
    const field = fieldPath();
    let negate = false;
    if (isKeyword('NOT')) {
      pos++;
      negate = true;
      if (!isKeyword('IN')) throw unexpected();
    }
    if (isKeyword('IN')) {
      pos++;
      expectPunct('(');
      const values: SoqlValue[] = [value()];
      while (peek()?.type === 'punct' && peek()?.text === ',') {
        pos++;
        values.push(value());
      }
      expectPunct(')');
      return { kind: 'in', field, negate, values };
    }
    if (isKeyword('LIKE')) {
      pos++;
      return { kind: 'compare', field, op: 'LIKE', value: value() };
    }
    const op = peek();
    if (op?.type !== 'op') throw unexpected();
    pos++;
    return { kind: 'compare', field, op: op.text === '<>' ? '!=' : op.text, value: value() };
  };
  const andExpr = (): Condition => {
    let left = primary();
    while (isKeyword('AND')) {
      pos++;
      left = { kind: 'and', left, right: primary() };
    }
    return left;
  };
  const orExpr = (): Condition => {
    let left = andExpr();
    while (isKeyword('OR')) {
      pos++;
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  };

  expectKeyword('SELECT');
  const query: SoqlQuery = { count: false, fields: [], from: '', orderBy: [] };
  if (isKeyword('COUNT') && tokens[pos + 1]?.text === '(') {
    pos += 2;
    expectPunct(')');
    query.count = true;
  } else {
    query.fields.push(fieldPath());
    while (peek()?.type === 'punct' && peek()?.text === ',') {
      pos++;
      query.fields.push(fieldPath());
    }
  }
  expectKeyword('FROM');
  const from = peek();
  if (from?.type !== 'word') throw unexpected();
  query.from = from.text;
  pos++;
  if (isKeyword('WHERE')) {
    pos++;
    query.where = orExpr();
  }
  if (isKeyword('ORDER')) {
    pos++;
    expectKeyword('BY');
    do {
      if (peek()?.text === ',') pos++;
      const field = fieldPath();
      let descending = false;
      if (isKeyword('ASC') || isKeyword('DESC')) {
        descending = peek()?.text.toUpperCase() === 'DESC';
        pos++;
      }
      let nullsLast = descending;
      if (isKeyword('NULLS')) {
        pos++;
        if (!isKeyword('FIRST') && !isKeyword('LAST')) throw unexpected();
        nullsLast = peek()?.text.toUpperCase() === 'LAST';
        pos++;
      }
      query.orderBy.push({ field, descending, nullsLast });
    } while (peek()?.type === 'punct' && peek()?.text === ',');
  }
  for (const clause of ['LIMIT', 'OFFSET'] as const) {
    if (isKeyword(clause)) {
      pos++;
      const n = peek();
      if (n?.type !== 'number' || !/^\d+$/.test(n.text)) throw unexpected();
      pos++;
      if (clause === 'LIMIT') query.limit = Number(n.text);
      else query.offset = Number(n.text);
    }
  }
  if (pos < tokens.length) throw unexpected();
  return query;
}

/** Reads a field path's value from a record; `resolve` follows a relationship (e.g. `Owner`) to its record. */
export type FieldReader = (record: Record<string, unknown>, path: string[]) => unknown;

function comparable(v: unknown): string | number | boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') {
    if (/^\d{4}-\d{2}-\d{2}T/.test(v)) {
      const t = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
      if (!Number.isNaN(t)) return t;
    }
    return v.toLowerCase();
  }
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v).toLowerCase();
}

function likeToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.');
  return new RegExp(`^${escaped}$`, 'is');
}

/** True when `record` satisfies the condition (text comparisons are case-insensitive, as in SOQL). */
export function evaluate(cond: Condition, record: Record<string, unknown>, read: FieldReader): boolean {
  switch (cond.kind) {
    case 'and':
      return evaluate(cond.left, record, read) && evaluate(cond.right, record, read);
    case 'or':
      return evaluate(cond.left, record, read) || evaluate(cond.right, record, read);
    case 'not':
      return !evaluate(cond.inner, record, read);
    case 'in': {
      const v = comparable(read(record, cond.field));
      const hit = cond.values.some((x) => comparable(x) === v);
      return cond.negate ? !hit : hit;
    }
    case 'compare': {
      const actual = comparable(read(record, cond.field));
      const expected = comparable(cond.value);
      if (cond.op === 'LIKE')
        return typeof actual === 'string' && likeToRegExp(String(cond.value)).test(actual);
      if (cond.op === '=') return actual === expected;
      if (cond.op === '!=') return actual !== expected;
      if (actual === null || expected === null) return false;
      if (cond.op === '<') return actual < expected;
      if (cond.op === '<=') return actual <= expected;
      if (cond.op === '>') return actual > expected;
      return actual >= expected;
    }
  }
}

/** Sorts records by the ORDER BY clause (stable; nulls first ascending, last descending, unless told). */
export function sortRecords<T extends Record<string, unknown>>(
  records: T[],
  query: SoqlQuery,
  read: FieldReader,
): T[] {
  if (query.orderBy.length === 0) return records;
  return [...records].sort((a, b) => {
    for (const o of query.orderBy) {
      const x = comparable(read(a, o.field));
      const y = comparable(read(b, o.field));
      if (x === y) continue;
      if (x === null) return o.nullsLast ? 1 : -1;
      if (y === null) return o.nullsLast ? -1 : 1;
      const cmp = x < y ? -1 : 1;
      return o.descending ? -cmp : cmp;
    }
    return 0;
  });
}

/** Every field path a query mentions (select list, where, order by), to check them against the schema. */
export function referencedFields(query: SoqlQuery): string[][] {
  const out: string[][] = [...query.fields, ...query.orderBy.map((o) => o.field)];
  const walk = (c: Condition | undefined): void => {
    if (!c) return;
    switch (c.kind) {
      case 'and':
      case 'or':
        walk(c.left);
        walk(c.right);
        break;
      case 'not':
        walk(c.inner);
        break;
      default:
        out.push(c.field);
    }
  };
  walk(query.where);
  return out;
}
