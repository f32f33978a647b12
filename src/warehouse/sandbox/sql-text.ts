/**
 * Text helpers shared by the sandboxes' SQL translators: vendor string literals with backslash escapes, re-quoted
 * for DuckDB (which has no escapes in standard strings).
 */

export function text(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function duckLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '`': '`',
  '0': '\0',
};

/** Reads a quoted token starting at `i` (quote char `q`), resolving backslash escapes. Returns [value, end]. */
export function readQuoted(sql: string, i: number, q: string): [string, number] {
  let out = '';
  let j = i + 1;
  for (;;) {
    if (j >= sql.length) break;
    if (sql[j] === q) {
      // A doubled quote inside a string is one quote (Snowflake and standard SQL).
      if (q !== '`' && sql[j + 1] === q) {
        out += q;
        j += 2;
        continue;
      }
      break;
    }
    if (sql[j] === '\\' && j + 1 < sql.length) {
      const c = sql[j + 1]!;
      out += ESCAPES[c] ?? c;
      j += 2;
    } else {
      out += sql[j];
      j++;
    }
  }
  if (j >= sql.length)
    throw new Error(`Syntax error: unclosed ${q === '`' ? 'identifier' : 'string literal'} at [${i}]`);
  return [out, j + 1];
}
