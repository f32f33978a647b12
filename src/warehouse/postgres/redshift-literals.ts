/**
 * Redshift takes bound parameters only in SELECT, INSERT, UPDATE and DELETE (its PREPARE: "statement: Any SELECT,
 * INSERT, UPDATE, or DELETE statement", https://docs.aws.amazon.com/redshift/latest/dg/r_PREPARE.html; the
 * extended protocol prepares the same way), so a `CREATE TABLE ... AS` or a `DECLARE ... CURSOR FOR` whose query
 * has `$N` placeholders is refused there. For those statements the values are written into the SQL as literals.
 *
 * A literal is the text pg would have sent for the bind (its own `prepareValue`), in single quotes: like a bind
 * sent without a type, a quoted literal is of unknown type until its context types it, so the statement means
 * what it meant with binds. Quotes are doubled; a backslash is never written inside a literal (Redshift reads
 * `\` in a string literal as an escape, Postgres with standard_conforming_strings does not), but as `chr(92)`
 * concatenated, which both read as one backslash.
 */
import { createRequire } from 'node:module';
import { PqlsyncError } from '../../errors/pqlsync-error.js';

const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue: (v: unknown) => unknown;
};

/** Whether Redshift would refuse `text` with bound parameters (anything but SELECT/INSERT/UPDATE/DELETE/WITH). */
export function redshiftRefusesBinds(text: string): boolean {
  const first = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()*([a-z]+)/i.exec(text)?.[1]?.toLowerCase();
  return !['select', 'insert', 'update', 'delete', 'with'].includes(first ?? '');
}

/** `value` as a Redshift literal (see the file comment). */
export function redshiftLiteral(value: unknown): string {
  const v = prepareValue(value);
  if (v === null || v === undefined) return 'null';
  if (typeof v !== 'string') {
    throw new PqlsyncError('INTERNAL', 'a binary value cannot be written into Redshift SQL as a literal');
  }
  const parts = v.split('\\').map((p) => `'${p.replace(/'/g, "''")}'`);
  return parts.length === 1 ? parts[0]! : `(${parts.join(' || chr(92) || ')})`;
}

/**
 * `text` with each `$N` placeholder outside string literals, quoted identifiers and comments replaced by the
 * literal of `values[N-1]`, in one pass (a value that contains `$1` is not read again).
 */
export function inlineRedshiftParams(text: string, values: readonly unknown[]): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    const next = text[i + 1];
    let end: number;
    if (ch === "'") {
      // Redshift reads a backslash inside a literal as escaping the next character.
      end = i + 1;
      while (end < text.length) {
        if (text[end] === '\\') end += 2;
        else if (text[end] === "'" && text[end + 1] === "'") end += 2;
        else if (text[end] === "'") break;
        else end++;
      }
      end++;
    } else if (ch === '"') {
      end = text.indexOf('"', i + 1);
      while (end >= 0 && text[end + 1] === '"') end = text.indexOf('"', end + 2);
      end = end < 0 ? text.length : end + 1;
    } else if (ch === '-' && next === '-') {
      end = text.indexOf('\n', i);
      end = end < 0 ? text.length : end;
    } else if (ch === '/' && next === '*') {
      end = text.indexOf('*/', i + 2);
      end = end < 0 ? text.length : end + 2;
    } else if (ch === '$' && next !== undefined && /\d/.test(next) && !/[\w$]/.test(text[i - 1] ?? '')) {
      const m = /^\$(\d+)/.exec(text.slice(i))!;
      const n = Number(m[1]);
      if (n < 1 || n > values.length) {
        throw new PqlsyncError('INTERNAL', `Redshift SQL names $${n} but ${values.length} values are bound`);
      }
      out += redshiftLiteral(values[n - 1]);
      i += m[0].length;
      continue;
    } else {
      end = i + 1;
    }
    out += text.slice(i, end);
    i = end;
  }
  return out;
}
