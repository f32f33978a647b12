/**
 * Values that lose or erase data on their way from the warehouse to a CRM (issue 23, items 1-3 and BLOBs), through
 * the real pipeline: DuckDB (and a real Postgres where its adapter reads values differently), the sandbox CRMs
 * through jsforce and @hubspot/api-client, and the file destination.
 *
 * - NaN and ±Infinity in a mapped column: the row is rejected with its field and column, never sent; the CRM keeps
 *   what it had (JSON carries NaN as null, which erased the field even with skip_null).
 * - Keys and values typed decimal(38,0) / hugeint / numeric beyond 2^53 cross as their exact digits: one CRM record
 *   per key; a Salesforce number field refuses a value it would round.
 * - A date or timestamp outside years 1-9999 (or ±infinity) rejects its row, naming the column; the rest is sent.
 * - Timestamps keep their microseconds in text fields; a BLOB is sent as base64 text.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { exitCodeFor, type RunSummary } from '../../src/runner/run-sync.js';
import { runSyncs } from '../../src/runner/run-syncs.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/warehouse/postgres/postgres-adapter.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { tempProject } from '../helpers/temp-project.js';
import {
  admin,
  PROFILES,
  reliabilityProject,
  routingYaml,
  runInProcess,
  STATE,
  SYNC,
  vendorRequests,
  type Crm,
  type ReliabilityProject,
} from './crm-harness.js';

setLogger(createLogger({ level: 'silent' }));

/** Field names per CRM: last name and company (required on a Salesforce Lead), a number, a text and a date. */
const FIELDS = {
  salesforce: {
    lastName: 'LastName',
    company: 'Company',
    score: 'PQL_Score__c',
    text: 'PQL_Reasons__c',
    date: 'PQL_Qualified_At__c',
    title: 'Title',
  },
  hubspot: {
    lastName: 'lastname',
    company: 'company',
    score: 'pql_score',
    text: 'pql_reasons',
    date: 'pql_qualified_at',
    title: 'jobtitle',
  },
} as const;

/** The sync's config for a CRM profile (or the file destination), with the given `fields:` lines. */
function configFor(crm: Crm | 'file', fields: string): string {
  const destination = crm === 'file' ? '  crm: { type: file, path: out }' : PROFILES[crm].destinationYaml;
  const object = crm === 'file' ? 'Lead' : PROFILES[crm].object;
  const matchField = crm === 'file' ? 'Product_User_Id__c' : PROFILES[crm].matchField;
  return `warehouse: { type: duckdb, path: wh.duckdb }
destinations:
${destination}
syncs:
  ${SYNC}:
    model: pql_users
    destination: crm
    object: ${object}
    match: { field: ${matchField}, column: user_id }
    mode: upsert
    fields:
${fields}`;
}

function model(select: string): string {
  return `/*---
name: pql_users
key: user_id
params:
  bad: { type: boolean, default: false }
---*/
${select}
`;
}

let p: ReliabilityProject | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

/** A sandbox project for `crm` with `rows` users, the given model and mapping. */
async function project(crm: Crm, rows: number, select: string, fields: string): Promise<ReliabilityProject> {
  p = await reliabilityProject(crm, { rows });
  p.project.writeModel('pql_users', model(select));
  p.project.writeConfig(configFor(crm, fields));
  return p;
}

/** Runs the sync once on a fresh connection to the project's DuckDB file; returns the summary. */
async function run(proj: ReliabilityProject, vars: Record<string, unknown> = {}): Promise<RunSummary> {
  const wh = new DuckdbAdapter({ path: proj.dbPath });
  await wh.connect();
  try {
    return await runInProcess(proj, wh, vars);
  } finally {
    await wh.close();
  }
}

async function stateRows(dbPath: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const wh = new DuckdbAdapter({ path: dbPath });
  await wh.connect();
  try {
    return (await wh.query(sql)).rows;
  } finally {
    await wh.close();
  }
}

async function failures(
  wh: WarehouseAdapter | string,
): Promise<Array<{ key: string; reason: string; code: string }>> {
  const sql = `select key, reason, code from ${STATE}.${SYNC}__failures order by key`;
  const rows = typeof wh === 'string' ? await stateRows(wh, sql) : (await wh.query(sql)).rows;
  return rows.map((r) => ({ key: String(r.key), reason: String(r.reason), code: String(r.code) }));
}

/** The CRM's records by match value: the given fields, as the sandbox's admin route shows them. */
async function crmRecords(
  proj: ReliabilityProject,
  fields: readonly string[],
): Promise<Record<string, Record<string, unknown>>> {
  const records =
    proj.profile.crm === 'salesforce'
      ? (
          (await admin(proj.sandbox, 'GET', '/_sandbox/salesforce/Lead')) as {
            records: Array<Record<string, unknown>>;
          }
        ).records.map((r) => [String(r.Product_User_Id__c), r] as const)
      : (
          (await admin(proj.sandbox, 'GET', '/_sandbox/hubspot/contacts')) as {
            results: Array<{ properties: Record<string, unknown> }>;
          }
        ).results.map((r) => [String(r.properties.product_user_id), r.properties] as const);
  const out = Object.fromEntries(
    records.map(([match, r]) => [match, Object.fromEntries(fields.map((f) => [f, r[f] ?? null]))]),
  );
  expect(Object.keys(out), 'one CRM record per match value').toHaveLength(records.length);
  return out;
}

// ---- 1. NaN and ±Infinity ---------------------------------------------------------------------------------

const NON_FINITE_SELECT = `select user_id, last_name, company,
  case when :bad and n = 2 then 'NaN'::double when :bad and n = 3 then 1e308 * 10
    when :bad and n = 4 then -1e308 * 10 else cast(score as double) end as score,
  'r' || n as reasons
from src.users where n <= 6`;

function nonFiniteFields(crm: Crm | 'file'): string {
  const f = FIELDS[crm === 'file' ? 'salesforce' : crm];
  return `      ${f.lastName}: last_name
      ${f.company}: company
      ${f.score}: { column: score, skip_null: true }
      ${f.text}: reasons
`;
}

function nonFiniteReasons(field: string): Array<{ key: string; reason: string; code: string }> {
  return [
    ['u2', 'NaN'],
    ['u3', 'Infinity'],
    ['u4', '-Infinity'],
  ].map(([key, v]) => ({
    key: key!,
    reason: `${field}: column score is ${v}, not a finite number; the row is not sent (fix the value in the model)`,
    code: 'INVALID_VALUE',
  }));
}

describe('NaN and ±Infinity are rejected, never sent, never erase', () => {
  it.each(['salesforce', 'hubspot'] as const)('%s', async (crm) => {
    const f = FIELDS[crm];
    const proj = await project(crm, 6, NON_FINITE_SELECT, nonFiniteFields(crm));
    const first = await run(proj);
    expect(first.status).toBe('success');
    const before = await crmRecords(proj, [f.score]);
    const sentBefore = (await vendorRequests(proj.sandbox)).length;

    const second = await run(proj, { bad: true });
    expect(second.counts).toMatchObject({ changed: 3, applied: 0, rejected: 3 });
    expect(second.status).toBe('partial');
    expect(exitCodeFor([second])).toBe(3);
    expect(await failures(proj.dbPath)).toEqual(nonFiniteReasons(f.score));
    // Nothing was written: the CRM keeps the scores of the first run, and so does the snapshot.
    const writes = (await vendorRequests(proj.sandbox)).slice(sentBefore).filter((r) => r.method !== 'GET');
    expect(writes).toEqual([]);
    expect(await crmRecords(proj, [f.score])).toEqual(before);
    const snapshot = await stateRows(
      proj.dbPath,
      `select key, json_extract(values_json, '$.${f.score}') as score from ${STATE}.${SYNC}__snapshot where key in ('u2', 'u3', 'u4') order by key`,
    );
    expect(snapshot.map((r) => String(r.score))).toEqual(['14', '21', '28']);
  });

  it('with routing, a rejected row gets no task, in the run and in its plan', async () => {
    const proj = await project(
      'hubspot',
      6,
      NON_FINITE_SELECT,
      nonFiniteFields('hubspot') + routingYaml('hubspot'),
    );
    const loaded = loadConfig(proj.project.configPath, proj.env);
    const wh = new DuckdbAdapter({ path: proj.dbPath });
    await wh.connect();
    try {
      const [plan] = await runSyncs({
        loaded,
        syncs: [SYNC],
        warehouse: wh,
        vars: { bad: true },
        dryRun: true,
      });
      expect(plan?.error).toBeUndefined();
      // Only u6 (score 42) enters a task tier; u2-u4 would be rejected, so neither the plan nor the run routes them.
      expect(plan?.plan?.tasks?.map((t) => t.key)).toEqual(['u6']);
      const summary = await runInProcess(proj, wh, { bad: true });
      expect(summary.counts).toMatchObject({ added: 6, applied: 3, rejected: 3, tasks: 1 });
    } finally {
      await wh.close();
    }
  });

  it('file destination', async () => {
    const proj = tempProject('pqlsync-values-file-');
    try {
      proj.writeModel('pql_users', model(NON_FINITE_SELECT));
      proj.writeConfig(configFor('file', nonFiniteFields('file')));
      const dbPath = path.join(proj.dir, 'wh.duckdb');
      const wh = new DuckdbAdapter({ path: dbPath });
      await wh.connect();
      try {
        await seedUsers(wh, 6);
        const loaded = loadConfig(proj.configPath, process.env);
        const [first] = await runSyncs({ loaded, syncs: [SYNC], warehouse: wh });
        expect(first?.status).toBe('success');
        const [second] = await runSyncs({ loaded, syncs: [SYNC], warehouse: wh, vars: { bad: true } });
        expect(second?.counts).toMatchObject({ changed: 3, applied: 0, rejected: 3 });
        expect(exitCodeFor([second!])).toBe(3);
        expect(await failures(wh)).toEqual(nonFiniteReasons('PQL_Score__c'));
      } finally {
        await wh.close();
      }
      // Only the first run's six records were written; none carries a null score.
      const lines = readFileSync(path.join(proj.dir, 'out', `${SYNC}.jsonl`), 'utf8')
        .trim()
        .split('\n');
      expect(
        lines.map((l) => (JSON.parse(l) as { values: Record<string, unknown> }).values.PQL_Score__c),
      ).toEqual([7, 14, 21, 28, 35, 42]);
    } finally {
      proj.cleanup();
    }
  });
});

// ---- 2. exact keys and numbers ------------------------------------------------------------------------------

/** Keys above 2^53 (as decimal(38,0) or hugeint), a score that needs 18 digits, a text that needs 19. */
function exactSelect(keyType: string): string {
  return `select cast('12345678901234567890000' as ${keyType}) + n as user_id, last_name, company,
  case when n = 2 then cast('12345678901234567.5' as decimal(38,1)) else cast(score as decimal(38,1)) end as score,
  cast('1234567890.1234567890' as decimal(38,10)) + n as reasons
from src.users where n <= 4`;
}

describe('keys and numbers cross exactly', () => {
  const cases = (['salesforce', 'hubspot'] as const).flatMap((crm) =>
    ['decimal(38,0)', 'hugeint'].map((keyType) => [crm, keyType] as const),
  );
  it.each(cases)('%s, key typed %s', async (crm, keyType) => {
    const f = FIELDS[crm];
    const proj = await project(
      crm,
      4,
      exactSelect(keyType),
      `      ${f.lastName}: last_name
      ${f.company}: company
      ${f.score}: score
      ${f.text}: reasons
`,
    );
    const summary = await run(proj);
    const key = (i: number) => `1234567890123456789000${i}`;
    const reasons = (i: number) => `123456789${i}.123456789`;
    const records = await crmRecords(proj, [f.score, f.text]);
    if (crm === 'salesforce') {
      // A Salesforce number field gets a JSON number, which would round 12345678901234567.5.
      expect(summary.counts).toMatchObject({ added: 4, applied: 3, rejected: 1 });
      expect(await failures(proj.dbPath)).toEqual([
        {
          key: key(2),
          reason:
            'PQL_Score__c: 12345678901234567.5 has more digits than a number sent to Salesforce carries (it would arrive as 12345678901234568); the row is not sent (round it in the model, or map it to a text field)',
          code: 'INVALID_VALUE',
        },
      ]);
      expect(records).toEqual({
        [key(1)]: { PQL_Score__c: 7, PQL_Reasons__c: reasons(1) },
        [key(3)]: { PQL_Score__c: 21, PQL_Reasons__c: reasons(3) },
        [key(4)]: { PQL_Score__c: 28, PQL_Reasons__c: reasons(4) },
      });
    } else {
      // HubSpot takes every value as text: the exact digits arrive.
      expect(summary.counts).toMatchObject({ added: 4, applied: 4, rejected: 0 });
      expect(records).toEqual({
        [key(1)]: { pql_score: '7', pql_reasons: reasons(1) },
        [key(2)]: { pql_score: '12345678901234567.5', pql_reasons: reasons(2) },
        [key(3)]: { pql_score: '21', pql_reasons: reasons(3) },
        [key(4)]: { pql_score: '28', pql_reasons: reasons(4) },
      });
    }
    // The snapshot holds the exact match values, so the next run matches the same records.
    const snapshot = await stateRows(
      proj.dbPath,
      `select key, json_extract_string(values_json, '$.__match') as m from ${STATE}.${SYNC}__snapshot order by key`,
    );
    expect(snapshot.every((r) => r.key === r.m)).toBe(true);
    // The rerun sends nothing new; the refused row is tried again (and refused again).
    expect((await run(proj)).counts).toMatchObject({
      added: crm === 'salesforce' ? 1 : 0,
      changed: 0,
      applied: 0,
    });
  });
});

// ---- 3. dates out of range; microseconds; BLOBs -------------------------------------------------------------

const DATES_SELECT = `select user_id, last_name, company,
  case when n = 2 then '5000000-01-01'::date else date '2026-01-01' + cast(n as integer) end as qualified_on,
  case when n = 3 then 'infinity'::timestamp
    else timestamp '2026-01-01 00:00:00.123456' + n * interval 1 second end as seen_at,
  cast('pql ' || n as blob) as tag
from src.users where n <= 4`;

describe('dates outside years 1-9999 reject their row; microseconds and bytes arrive as text', () => {
  it.each(['salesforce', 'hubspot'] as const)('%s', async (crm) => {
    const f = FIELDS[crm];
    const proj = await project(
      crm,
      4,
      DATES_SELECT,
      `      ${f.lastName}: last_name
      ${f.company}: company
      ${f.date}: qualified_on
      ${f.text}: seen_at
      ${f.title}: tag
`,
    );
    const summary = await run(proj);
    expect(summary.counts).toMatchObject({ added: 4, applied: 2, rejected: 2 });
    expect(exitCodeFor([summary])).toBe(3);
    expect(await failures(proj.dbPath)).toEqual([
      {
        key: 'u2',
        reason: `${f.date}: column qualified_on is 5000000-01-01, a date outside years 1-9999; the row is not sent (fix the value in the model)`,
        code: 'INVALID_VALUE',
      },
      {
        key: 'u3',
        reason: `${f.text}: column seen_at is infinity, a timestamp outside years 1-9999; the row is not sent (fix the value in the model)`,
        code: 'INVALID_VALUE',
      },
    ]);
    const day = (i: number) => Date.UTC(2026, 0, 1 + i);
    expect(await crmRecords(proj, [f.date, f.text, f.title])).toEqual(
      Object.fromEntries(
        [1, 4].map((i) => [
          `u${i}`,
          {
            [f.date]:
              crm === 'salesforce' ? new Date(day(i)).toISOString().replace('Z', '+0000') : String(day(i)),
            [f.text]: `2026-01-01T00:00:0${i}.123456Z`,
            [f.title]: Buffer.from(`pql ${i}`).toString('base64'),
          },
        ]),
      ),
    );
  });
});

// ---- the same on Postgres, whose adapter reads values with its own parsers ----------------------------------

const PG_SELECT = `select cast('12345678901234567890000' as numeric(38,0)) + n as user_id, last_name, company,
  case when n = 2 then 'NaN'::numeric else cast(score as numeric(38,1)) end as score,
  case when n = 3 then 'infinity'::date else date '2026-01-01' + n end as qualified_on,
  case when n = 4 then 'infinity'::timestamptz
    else timestamptz '2026-01-01 00:00:00.123456+00' + n * interval '1 second' end as seen_at,
  convert_to('pql ' || n, 'UTF8') as tag
from src.users where n <= 5`;

describe('Postgres: exact keys, invalid values rejected, microseconds and bytes as text', () => {
  let server: TestPostgres | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('hubspot', async () => {
    server = await startTestPostgres();
    const wh = new PostgresAdapter({ url: await server.createDatabase('pqlsync_values') });
    await wh.connect();
    try {
      await wh.query('create schema src');
      await wh.query(
        `create table src.users as select i as n, 'Last' || i as last_name, 'Company ' || i as company,
           (i * 7) % 100 as score from generate_series(1, 5) i`,
      );
      const proj = await project(
        'hubspot',
        0,
        PG_SELECT,
        `      lastname: last_name
      company: company
      pql_score: score
      pql_qualified_at: qualified_on
      pql_reasons: seen_at
      jobtitle: tag
`,
      );
      const summary = await runInProcess(proj, wh, {});
      expect(summary.counts).toMatchObject({ added: 5, applied: 2, rejected: 3 });
      const key = (i: number) => `1234567890123456789000${i}`;
      const reason = (what: string) => `${what}; the row is not sent (fix the value in the model)`;
      expect(await failures(wh)).toEqual([
        {
          key: key(2),
          reason: reason('pql_score: column score is NaN, not a finite number'),
          code: 'INVALID_VALUE',
        },
        {
          key: key(3),
          reason: reason('pql_qualified_at: column qualified_on is infinity, a date outside years 1-9999'),
          code: 'INVALID_VALUE',
        },
        {
          key: key(4),
          reason: reason('pql_reasons: column seen_at is infinity, a timestamp outside years 1-9999'),
          code: 'INVALID_VALUE',
        },
      ]);
      expect(await crmRecords(proj, ['pql_score', 'pql_qualified_at', 'pql_reasons', 'jobtitle'])).toEqual(
        Object.fromEntries(
          [1, 5].map((i) => [
            key(i),
            {
              pql_score: String(i * 7),
              pql_qualified_at: String(Date.UTC(2026, 0, 1 + i)),
              pql_reasons: `2026-01-01T00:00:0${i}.123456Z`,
              jobtitle: Buffer.from(`pql ${i}`).toString('base64'),
            },
          ]),
        ),
      );
    } finally {
      await wh.close();
    }
  }, 180_000);
});

async function seedUsers(wh: WarehouseAdapter, rows: number): Promise<void> {
  await wh.query('create schema if not exists src');
  await wh.query(
    `create table src.users as select i as n, 'u' || i as user_id, 'Last' || i as last_name, 'Company ' || i as company,
       cast((i * 7) % 100 as integer) as score from range(1, ${rows + 1}) t(i)`,
  );
}
