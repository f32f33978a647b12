/**
 * Redshift takes bound parameters only in SELECT/INSERT/UPDATE/DELETE (its PREPARE), so in Redshift mode a
 * `CREATE TABLE ... AS` and a `DECLARE ... CURSOR` get their values as literals (redshift-literals.ts). Run on a
 * real Postgres in Redshift mode: the statements pg sends are recorded (pg's own query, passed through), and the
 * values must come back exactly, also with standard_conforming_strings off (how Redshift reads a backslash).
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { runSync } from '../../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { PostgresAdapter } from '../../../src/warehouse/postgres/postgres-adapter.js';
import { inlineRedshiftParams, redshiftLiteral } from '../../../src/warehouse/postgres/redshift-literals.js';
import type { BoundSql } from '../../../src/warehouse/warehouse-adapter.js';
import { redshiftOnPostgresUnderTest } from '../../conformance/warehouses.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { tempProject } from '../../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

/** Texts that a literal could get wrong. */
const TRICKY = [
  "O'Brien",
  'back\\slash and two \\\\',
  'ends with a backslash \\',
  "\\'; drop table x; --",
  '$1 and $2 /* not a comment */ -- nor this',
  "''",
  '',
  'tab\tnew\nline é ✓',
];

interface Sent {
  text: string;
  values: unknown[];
}

/** Records each statement pg sends (text and values); pg's query runs as it is. */
function recordSent(): Sent[] {
  const sent: Sent[] = [];
  const real = pg.Client.prototype.query;
  vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
    const q = args[0] as string | { text: string; values?: unknown[] };
    sent.push(typeof q === 'string' ? { text: q, values: [] } : { text: q.text, values: q.values ?? [] });
    return (real as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof real);
  return sent;
}

/** `$N` placeholders in a statement, outside its string literals and comments. */
const placeholders = (text: string) =>
  text
    .replace(/'(?:[^']|'')*'/g, '')
    .replace(/--[^\n]*/g, '')
    .match(/\$\d+/g) ?? [];

const bound = (sql: string, values: unknown[]): BoundSql => ({
  dialect: 'redshift',
  sql,
  params: values.map((value, i) => ({ name: `p${i + 1}`, type: 'string' as const, value })),
});

describe('Redshift literals instead of binds (adapter, real Postgres)', () => {
  let server: TestPostgres;
  let n = 0;
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 120_000);
  afterAll(async () => {
    await server.stop();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(['on', 'off'])(
    'CREATE TABLE AS and DECLARE CURSOR carry no $N and the values round-trip (standard_conforming_strings %s)',
    async (scs) => {
      const url = await server.createDatabase(`rs_literals_${process.pid}_${++n}`);
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(
        `alter database ${pg.escapeIdentifier(`rs_literals_${process.pid}_${n}`)} set standard_conforming_strings = ${scs}`,
      );
      await admin.end();
      const wh = new PostgresAdapter({ url, dialect: 'redshift' });
      await wh.connect();
      try {
        // The setting is in effect: a backslash in a literal escapes when it is off, as on Redshift.
        const { rows: probe } = await wh.query(`select '\\\\' as s`);
        expect(probe).toEqual([{ s: scs === 'on' ? '\\\\' : '\\' }]);
        const sent = recordSent();
        const cols = TRICKY.map((_t, i) => `$${i + 1}::varchar as s${i}`).join(', ');
        const extra = TRICKY.length;
        const ctas = `create table t as select ${cols}, $${extra + 1}::integer as n, $${extra + 2}::boolean as b,
          $${extra + 3}::timestamptz as ts, $${extra + 4}::varchar as nothing, '$1 stays' as lit -- $2 stays
          `;
        const at = new Date('2026-01-05T10:00:00.123Z');
        await wh.query(bound(ctas, [...TRICKY, 42, true, at, null]));
        const create = sent.find((s) => s.text.startsWith('create table t'))!;
        expect(create.values).toEqual([]);
        expect(placeholders(create.text)).toEqual([]);
        const { rows } = await wh.query('select * from t');
        expect(rows).toEqual([
          {
            ...Object.fromEntries(TRICKY.map((t, i) => [`s${i}`, t])),
            n: 42,
            b: true,
            ts: at,
            nothing: null,
            lit: '$1 stays',
          },
        ]);

        // A stream reads through DECLARE ... CURSOR: the values are literals there too.
        const streamed: unknown[] = [];
        const union = TRICKY.map((_t, i) => `select ${i} as i, $${i + 1}::varchar as s`).join(' union all ');
        for await (const chunk of wh.stream(bound(`${union} order by i`, TRICKY), { chunkSize: 3 })) {
          streamed.push(...chunk.map((r) => r.s));
        }
        expect(streamed).toEqual(TRICKY);
        const declare = sent.find((s) => s.text.startsWith('declare'))!;
        expect([declare.values, placeholders(declare.text)]).toEqual([[], []]);

        // A SELECT keeps its binds.
        const { rows: selected } = await wh.query(bound('select $1::varchar as s', [TRICKY[1]]));
        expect(selected).toEqual([{ s: TRICKY[1] }]);
        expect(sent.at(-1)).toEqual({ text: 'select $1::varchar as s', values: [TRICKY[1]] });
      } finally {
        await wh.close();
      }
    },
    120_000,
  );

  it('an error shows the statement with its $N, not the inlined values', async () => {
    const url = await server.createDatabase(`rs_literals_${process.pid}_${++n}`);
    const wh = new PostgresAdapter({ url, dialect: 'redshift' });
    await wh.connect();
    try {
      const err = (await wh
        .query(bound('create table t as select $1::varchar as s from no_such_table', ['value-7f3a']))
        .catch((e: unknown) => e)) as { message: string; details?: { sql?: string } };
      expect([err.message, err.details?.sql]).toEqual([
        'Redshift: relation "no_such_table" does not exist',
        'create table t as select $1::varchar as s from no_such_table',
      ]);
    } finally {
      await wh.close();
    }
  });
});

describe('Redshift literal forms', () => {
  it('doubles quotes and writes a backslash as chr(92); null, numbers and booleans as pg would bind them', () => {
    expect([null, undefined, "it's", 'a\\b', 5, true].map((v) => redshiftLiteral(v))).toEqual([
      'null',
      'null',
      "'it''s'",
      "('a' || chr(92) || 'b')",
      "'5'",
      "'true'",
    ]);
  });

  it('replaces placeholders outside literals, quoted names and comments, each value once', () => {
    expect(
      inlineRedshiftParams(`select $1, '$1 it''s \\' $2', "$2""x", $2 /* $1 */ -- $1\n, $10`, [
        '$2',
        'b',
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        'ten',
      ]),
    ).toBe(`select '$2', '$1 it''s \\' $2', "$2""x", 'b' /* $1 */ -- $1\n, 'ten'`);
  });
});

describe('Redshift mode sync (real Postgres)', () => {
  const w = redshiftOnPostgresUnderTest();
  beforeAll(() => w.start(), 120_000);
  afterAll(() => w.stop());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('a model parameter reaches the CTAS as a literal and its value is sent exactly', async () => {
    const wh = await w.open();
    const p = tempProject();
    try {
      await wh.query('create schema src');
      await wh.query('create table src.users (user_id integer, email varchar(100))');
      await wh.query(`insert into src.users values (1, 'a@example.com'), (2, 'b@example.com')`);
      p.writeModel(
        'scores',
        `/*---\nname: scores\nkey: user_id\nparams:\n  label: { type: string, default: "x" }\n---*/\nselect user_id, email, :label as label from src.users\n`,
      );
      p.writeConfig(`
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    params: { label: ${JSON.stringify(TRICKY[3])} }
    match: { field: Ext__c, column: user_id }
    fields: { Email: email, Label__c: label }
`);
      const sent = recordSent();
      const dest = new MemoryDestination();
      const s = await runSync({
        loaded: loadConfig(p.configPath),
        warehouse: wh,
        syncName: 'users',
        destination: async () => dest,
      });
      expect(s).toMatchObject({ status: 'success', counts: { added: 2, applied: 2 } });
      expect([...dest.records.get('Lead')!.values()].map((r) => r.Label__c)).toEqual([TRICKY[3], TRICKY[3]]);
      const refusing = sent.filter((x) =>
        /^\s*(create\s+(temp\s+)?table\s+\S+\s+as|declare)\b/i.test(x.text),
      );
      expect(refusing.length).toBeGreaterThan(0);
      expect(refusing.filter((x) => x.values.length > 0 || placeholders(x.text).length > 0)).toEqual([]);
    } finally {
      await wh.close();
      p.cleanup();
    }
  });
});
