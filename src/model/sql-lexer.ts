/**
 * Finds parameter references in SQL text without parsing SQL.
 *
 * Glossary:
 * - reference: `:name` (a parameter) or `{{ ... }}` (a parameter name or a macro call), found only OUTSIDE
 *   strings, quoted identifiers and comments.
 * - separator: a `;` outside strings and comments that more SQL follows (the text holds more than one statement);
 *   a terminator is a `;` that only whitespace and comments follow.
 * - `::` is a cast, never a reference; `:name` right after a name, `)`, `]` or a quote is not a reference either
 *   (Snowflake `payload:field` paths, `arr[1:n]` slices), so write placeholders after a space or an operator.
 *
 * Called by the model compiler and by `bindSql` for pqlsync's own SQL files. Dialect-aware: which quotes make
 * strings or identifiers and which comment styles exist differ per warehouse (warehouses.md §5).
 */
import type { Dialect } from '../warehouse/warehouse-adapter.js';

export interface SqlReference {
  kind: 'param' | 'template';
  /** The parameter name for `:name`; the trimmed text inside the braces for `{{ ... }}`. */
  text: string;
  /** Offsets into the source: `sql.slice(start, end)` is the whole reference including `:` or braces. */
  start: number;
  end: number;
  /** 1-based position of the reference's first character. */
  line: number;
  column: number;
}

/** A string or comment that never ends; the caller turns it into a located error. */
export interface SqlLexIssue {
  message: string;
  line: number;
  column: number;
}

/** Where a `;` is, as an offset and a 1-based line and column. */
export interface SqlSemicolon {
  offset: number;
  line: number;
  column: number;
}

export interface SqlLexResult {
  references: SqlReference[];
  issues: SqlLexIssue[];
  /** Each `;` outside strings and comments that more SQL follows: the text is more than one statement. */
  separators: SqlSemicolon[];
  /** Each `;` that only whitespace, comments and other `;` follow (a statement's optional terminator). */
  terminators: SqlSemicolon[];
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_$]/;
/** Characters after which `:name` is a path or slice, not a placeholder. */
const NOT_BEFORE_PARAM = /[A-Za-z0-9_$)\]"'`:]/;

/** Scans `sql` and returns every reference in order, plus any unterminated string or comment. */
export function lexSql(sql: string, dialect: Dialect): SqlLexResult {
  const references: SqlReference[] = [];
  const issues: SqlLexIssue[] = [];
  const bigquery = dialect === 'bigquery';
  const pgLike = dialect === 'postgres' || dialect === 'redshift' || dialect === 'duckdb';
  const backslashEscapes = bigquery || dialect === 'snowflake' || dialect === 'redshift';
  const lineStarts = [0];
  for (let i = 0; i < sql.length; i++) if (sql[i] === '\n') lineStarts.push(i + 1);
  const position = (offset: number): { line: number; column: number } => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (lineStarts[lo] ?? 0) + 1 };
  };
  const unterminated = (what: string, at: number): number => {
    issues.push({ message: `unterminated ${what}`, ...position(at) });
    return sql.length;
  };
  /** Returns the offset after a quoted run that starts at `i` with `quote` (length 1 or 3). */
  const skipQuoted = (i: number, quote: string, escapes: boolean, what: string): number => {
    let j = i + quote.length;
    while (j < sql.length) {
      if (escapes && sql[j] === '\\') j += 2;
      else if (sql.startsWith(quote, j)) {
        if (!bigquery && quote.length === 1 && sql[j + 1] === quote) j += 2;
        else return j + quote.length;
      } else j++;
    }
    return unterminated(what, i);
  };
  const skipBlockComment = (i: number): number => {
    let depth = 0;
    let j = i;
    while (j < sql.length) {
      if (sql.startsWith('/*', j)) {
        depth++;
        j += 2;
        if (!pgLike) depth = 1;
      } else if (sql.startsWith('*/', j)) {
        depth--;
        j += 2;
        if (depth === 0) return j;
      } else j++;
    }
    return unterminated('/* comment', i);
  };
  const skipLine = (i: number): number => {
    const nl = sql.indexOf('\n', i);
    return nl === -1 ? sql.length : nl;
  };

  const separators: SqlSemicolon[] = [];
  let terminators: SqlSemicolon[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i] ?? '';
    const prev = i > 0 ? (sql[i - 1] ?? '') : '';
    const atWordStart = !IDENT_CHAR.test(prev);
    const lineComment =
      sql.startsWith('--', i) ||
      (bigquery && ch === '#') ||
      (dialect === 'snowflake' && sql.startsWith('//', i));
    if (!lineComment && !sql.startsWith('/*', i) && !/\s/.test(ch)) {
      // SQL follows every `;` seen so far: those separate statements.
      if (ch === ';') {
        terminators.push({ offset: i, ...position(i) });
        i++;
        continue;
      }
      separators.push(...terminators);
      terminators = [];
    }
    if (lineComment) {
      i = skipLine(i);
    } else if (sql.startsWith('/*', i)) {
      i = skipBlockComment(i);
    } else if (
      bigquery &&
      (ch === "'" || ch === '"' || (atWordStart && /^(?:[rb]|rb|br)['"]/i.test(sql.slice(i, i + 3))))
    ) {
      // BigQuery: '…', "…", '''…''', """…""" strings, optionally r/b/rb prefixed; backslash escapes in all.
      const at = sql.slice(i).search(/['"]/) + i;
      const q = sql[at] ?? "'";
      i = skipQuoted(at, sql.startsWith(q.repeat(3), at) ? q.repeat(3) : q, true, 'string');
    } else if (pgLike && atWordStart && (ch === 'E' || ch === 'e') && sql[i + 1] === "'") {
      i = skipQuoted(i + 1, "'", true, 'string');
    } else if (ch === "'") {
      i = skipQuoted(i, "'", backslashEscapes, 'string');
    } else if (ch === '"') {
      i = skipQuoted(i, '"', false, 'quoted identifier');
    } else if (ch === '`' && bigquery) {
      i = skipQuoted(i, '`', true, 'quoted identifier');
    } else if (ch === '$' && dialect !== 'bigquery' && atWordStart) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 130));
      if (tag && (dialect !== 'snowflake' || tag[0] === '$$')) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? unterminated(`${tag[0]} string`, i) : close + tag[0].length;
      } else i++;
    } else if (sql.startsWith('{{', i)) {
      const close = sql.indexOf('}}', i + 2);
      if (close === -1) {
        i = unterminated('{{ (no closing }})', i);
      } else {
        references.push({
          kind: 'template',
          text: sql.slice(i + 2, close).trim(),
          start: i,
          end: close + 2,
          ...position(i),
        });
        i = close + 2;
      }
    } else if (ch === ':' && sql[i + 1] === ':') {
      i += 2;
    } else if (ch === ':' && IDENT_START.test(sql[i + 1] ?? '') && !NOT_BEFORE_PARAM.test(prev)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j] ?? '')) j++;
      references.push({ kind: 'param', text: sql.slice(i + 1, j), start: i, end: j, ...position(i) });
      i = j;
    } else i++;
  }
  return { references, issues, separators, terminators };
}
