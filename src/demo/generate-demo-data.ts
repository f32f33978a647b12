/**
 * The seeded synthetic product-usage dataset behind `pqlsync demo`, its tests and backtests.
 *
 * Glossary:
 * - as of: the data's "today". Events exist up to, not including, this date; it is kept in `app.demo_clock`.
 * - planted truth: a latent propensity per account and user (`app.truth`, hidden from the models) that drives
 *   usage; self-serve purchases are then drawn from the generated usage itself (sql/demo/convert.sql: a
 *   logistic of activation, active days, teammates, pricing views, limit hits, a raised hand, recency and the
 *   trial), plus planted sales-led deals with no product signal, so a good model finds most converters but not all.
 * - advance: moving the clock forward N days with new events, signups and conversions, so the next sync run
 *   has real added and changed rows.
 *
 * Everything is generated inside DuckDB by the SQL files in `sql/demo/`; randomness is a hash of the seed, so
 * the same options give the same tables. The SQL uses connection-scoped temp macros and variables, so `exec`
 * must run every statement on one DuckDB connection. Called by the demo command and by tests.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PqlsyncError } from '../errors/pqlsync-error.js';

/** Runs one DuckDB statement on the same connection every time. */
export type DemoSqlExec = (sql: string) => Promise<unknown>;

export interface DemoDataOptions {
  /** Users to create (accounts are about 0.4 per user). (Default: 5,000) */
  users?: number;
  /** Seed for every random draw; the same seed gives the same data. (Default: 42) */
  seed?: number;
  /** The data's "today", `YYYY-MM-DD`; events end the day before. (Default: 2026-11-01) */
  asOf?: string;
  /** Days of history before `asOf` in which accounts and users sign up. (Default: 180) */
  historyDays?: number;
}

export interface AdvanceDemoDataOptions {
  /** Days to move the clock forward. */
  days: number;
  /** Seed for the new days' draws; the same seed and days give the same data. (Default: 42) */
  seed?: number;
}

/** What was generated: the resolved options and the clock. */
export interface DemoDataClock {
  asOf: string;
  seed: number;
  users: number;
  historyDays: number;
}

/**
 * The tables of schema `app` that generating the data replaces (sql/demo/schema.sql drops and creates them);
 * `demo_clock` is written last and marks data the demo made.
 */
export const DEMO_TABLES = [
  'accounts',
  'users',
  'events',
  'subscriptions',
  'conversions',
  'truth',
  'demo_clock',
] as const;

export const DEMO_DEFAULTS = { users: 5000, seed: 42, asOf: '2026-11-01', historyDays: 180 } as const;

const LIMITS = {
  users: { min: 1, max: 50_000_000 },
  seed: { min: 0, max: 2_147_483_647 },
  historyDays: { min: 1, max: 3650 },
  days: { min: 1, max: 3650 },
} as const;

// Event ids pack the day as days since 2000-01-01 into 16 bits, so dates must stay within 2000..2179.
const FIRST_DAY = Date.UTC(2000, 0, 1);
const LAST_DAY = Date.UTC(2179, 0, 1);
const DAY_MS = 86_400_000;

const SQL_DIR = fileURLToPath(new URL('../../sql/demo/', import.meta.url));

function checkInteger(name: keyof typeof LIMITS, value: number): number {
  const { min, max } = LIMITS[name];
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `demo data option ${name}: expected an integer between ${min} and ${max}, found ${String(value)}`,
      { location: { param: name }, hint: `pass ${name} as a whole number between ${min} and ${max}` },
    );
  }
  return value;
}

function checkAsOf(asOf: string, historyDays: number): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(asOf);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  const valid = m !== null && new Date(ms).toISOString().slice(0, 10) === asOf;
  if (!valid || ms - historyDays * DAY_MS < FIRST_DAY || ms >= LAST_DAY) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `demo data option asOf: expected a date YYYY-MM-DD between 2000-01-01 + historyDays (${historyDays}) ` +
        `and 2178-12-31, found ${JSON.stringify(asOf)}`,
      { location: { param: 'asOf' }, hint: 'pass a calendar date such as 2026-11-01' },
    );
  }
  return ms;
}

/** One statement of a SQL file with the line it starts on, for error locations. */
interface SqlStatement {
  sql: string;
  line: number;
}

/** Splits a file on `;` at the end of a line (our SQL files never end a line inside a string with one). */
export function splitSqlStatements(text: string): SqlStatement[] {
  const out: SqlStatement[] = [];
  const lines = text.split('\n');
  let current: string[] = [];
  let startLine = 1;
  lines.forEach((line, i) => {
    if (current.length === 0 && line.trim() === '') {
      startLine = i + 2;
      return;
    }
    current.push(line);
    if (/;\s*$/.test(line)) {
      const sql = current.join('\n').trim();
      const firstCode = current.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('--'));
      if (firstCode >= 0) out.push({ sql, line: startLine + firstCode });
      current = [];
      startLine = i + 2;
    }
  });
  const rest = current.join('\n').trim();
  const firstCode = current.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('--'));
  if (firstCode >= 0) out.push({ sql: rest, line: startLine + firstCode });
  return out;
}

const SELF = 'src/demo/generate-demo-data.ts';

async function runStatement(exec: DemoSqlExec, sql: string, file: string, line?: number): Promise<void> {
  try {
    await exec(sql);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new PqlsyncError('WAREHOUSE_QUERY_FAILED', `demo data SQL failed: ${message}`, {
      location: line === undefined ? { file } : { file, line },
      cause: err,
      hint: 'the demo data needs DuckDB, with every statement run on one connection',
    });
  }
}

async function runSqlFile(exec: DemoSqlExec, name: string): Promise<void> {
  const text = await readFile(`${SQL_DIR}${name}`, 'utf8');
  for (const statement of splitSqlStatements(text)) {
    await runStatement(exec, statement.sql, `sql/demo/${name}`, statement.line);
  }
}

async function setVariables(exec: DemoSqlExec, values: Record<string, string>): Promise<void> {
  for (const [name, expression] of Object.entries(values)) {
    await runStatement(exec, `set variable ${name} = ${expression}`, SELF);
  }
}

const sqlDate = (ms: number): string => `date '${new Date(ms).toISOString().slice(0, 10)}'`;

/**
 * Creates the dataset in schema `app` (replacing any earlier one): accounts, users, events, subscriptions,
 * conversions, the hidden truth and the clock. 5,000 users take about a second; 100k users about 20 s.
 */
export async function generateDemoData(
  exec: DemoSqlExec,
  options: DemoDataOptions = {},
): Promise<DemoDataClock> {
  const users = checkInteger('users', options.users ?? DEMO_DEFAULTS.users);
  const seed = checkInteger('seed', options.seed ?? DEMO_DEFAULTS.seed);
  const historyDays = checkInteger('historyDays', options.historyDays ?? DEMO_DEFAULTS.historyDays);
  const asOf = options.asOf ?? DEMO_DEFAULTS.asOf;
  const asOfMs = checkAsOf(asOf, historyDays);

  // Validated integers and dates only; typed so hash() sees the same types on every run.
  await setVariables(exec, {
    demo_seed: `cast(${seed} as bigint)`,
    demo_users: `cast(${users} as bigint)`,
    demo_history_days: `cast(${historyDays} as integer)`,
    demo_as_of: sqlDate(asOfMs),
    demo_from: sqlDate(asOfMs - historyDays * DAY_MS),
    demo_to: sqlDate(asOfMs),
  });
  await runSqlFile(exec, 'macros.sql');
  await runSqlFile(exec, 'schema.sql');
  await runSqlFile(exec, 'spawn-initial.sql');
  await runSqlFile(exec, 'insert-entities.sql');
  await runSqlFile(exec, 'insert-events.sql');
  await runSqlFile(exec, 'convert.sql');
  await runSqlFile(exec, 'refresh-plans.sql');
  await runStatement(
    exec,
    `insert into app.demo_clock values (${sqlDate(asOfMs)}, ${seed}, ${users}, ${historyDays})`,
    SELF,
  );
  await runSqlFile(exec, 'cleanup.sql');
  return { asOf, seed, users, historyDays };
}

/**
 * Moves the data's clock `days` forward: events for every user on the new days, new signups at the
 * historical rate, the purchases those days' usage brings and the sales-led deals due. Needs data made by
 * generateDemoData.
 */
export async function advanceDemoData(exec: DemoSqlExec, options: AdvanceDemoDataOptions): Promise<void> {
  const days = checkInteger('days', options.days);
  const seed = checkInteger('seed', options.seed ?? DEMO_DEFAULTS.seed);
  try {
    await exec('set variable demo_from = (select as_of from app.demo_clock)');
  } catch (err) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      'there is no demo data to advance: table app.demo_clock is missing',
      {
        cause: err,
        hint: 'generate the demo data first (pqlsync demo --no-run)',
      },
    );
  }
  await setVariables(exec, {
    demo_seed: `cast(${seed} as bigint)`,
    demo_users: '(select users from app.demo_clock)',
    demo_history_days: '(select history_days from app.demo_clock)',
    demo_to: `cast(getvariable('demo_from') + ${days} as date)`,
  });
  await runStatement(
    exec,
    `select case when getvariable('demo_to') >= date '2179-01-01' then error('the demo clock cannot pass 2178-12-31') end`,
    SELF,
  );
  await runSqlFile(exec, 'macros.sql');
  await runSqlFile(exec, 'spawn-advance.sql');
  await runSqlFile(exec, 'insert-entities.sql');
  await runSqlFile(exec, 'insert-events.sql');
  await runSqlFile(exec, 'convert.sql');
  await runSqlFile(exec, 'refresh-plans.sql');
  await runStatement(exec, `update app.demo_clock set as_of = getvariable('demo_to')`, SELF);
  await runSqlFile(exec, 'cleanup.sql');
}
