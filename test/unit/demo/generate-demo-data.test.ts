import { describe, expect, it } from 'vitest';
import {
  advanceDemoData,
  generateDemoData,
  splitSqlStatements,
} from '../../../src/demo/generate-demo-data.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';

/** An exec that records statements; option checks must fail before the first one runs. */
function recorder(): { exec: (sql: string) => Promise<void>; statements: string[] } {
  const statements: string[] = [];
  return { exec: async (sql) => void statements.push(sql), statements };
}

async function rejection(p: Promise<unknown>): Promise<PqlsyncError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PqlsyncError)) throw new Error(`expected a PqlsyncError, got ${String(err)}`);
  return err;
}

describe('splitSqlStatements', () => {
  it('splits on a semicolon at the end of a line and reports the first code line of each statement', () => {
    const text = [
      '-- a comment',
      'create table a (x int);',
      '',
      '-- about b',
      'insert into b',
      "select 'x;y' ;",
      'select 1',
    ].join('\n');
    expect(splitSqlStatements(text)).toEqual([
      { sql: '-- a comment\ncreate table a (x int);', line: 2 },
      { sql: "-- about b\ninsert into b\nselect 'x;y' ;", line: 5 },
      { sql: 'select 1', line: 7 },
    ]);
  });

  it('drops a trailing comment that holds no statement', () => {
    expect(splitSqlStatements('select 1;\n-- the end\n')).toEqual([{ sql: 'select 1;', line: 1 }]);
  });
});

describe('generateDemoData options', () => {
  it.each([
    [{ users: 0 }, 'users', 'demo data option users: expected an integer between 1 and 50000000, found 0'],
    [
      { users: 2.5 },
      'users',
      'demo data option users: expected an integer between 1 and 50000000, found 2.5',
    ],
    [{ seed: -1 }, 'seed', 'demo data option seed: expected an integer between 0 and 2147483647, found -1'],
    [
      { historyDays: 4000 },
      'historyDays',
      'demo data option historyDays: expected an integer between 1 and 3650, found 4000',
    ],
  ])('rejects %j before running any SQL', async (options, param, message) => {
    const { exec, statements } = recorder();
    const err = await rejection(generateDemoData(exec, options));
    expect(err.code).toBe('ARGS_INVALID');
    expect(err.message).toBe(message);
    expect(err.location).toEqual({ param });
    expect(statements).toEqual([]);
  });

  it.each(['2026-02-30', '26-11-01', '1999-12-31'])(
    'rejects asOf %s with the expected range',
    async (asOf) => {
      const { exec, statements } = recorder();
      const err = await rejection(generateDemoData(exec, { asOf, historyDays: 10 }));
      expect(err.format()).toBe(
        `param asOf: demo data option asOf: expected a date YYYY-MM-DD between 2000-01-01 + historyDays (10) ` +
          `and 2178-12-31, found "${asOf}"\n  hint: pass a calendar date such as 2026-11-01`,
      );
      expect(statements).toEqual([]);
    },
  );

  it('sets the seed, size and window as typed literals before the SQL files run', async () => {
    const { exec, statements } = recorder();
    await generateDemoData(exec, { users: 10, seed: 7, asOf: '2026-03-01', historyDays: 30 });
    expect(statements.slice(0, 6)).toEqual([
      'set variable demo_seed = cast(7 as bigint)',
      'set variable demo_users = cast(10 as bigint)',
      'set variable demo_history_days = cast(30 as integer)',
      "set variable demo_as_of = date '2026-03-01'",
      "set variable demo_from = date '2026-01-30'",
      "set variable demo_to = date '2026-03-01'",
    ]);
  });
});

describe('advanceDemoData options', () => {
  it('rejects a non-positive number of days before running any SQL', async () => {
    const { exec, statements } = recorder();
    const err = await rejection(advanceDemoData(exec, { days: 0 }));
    expect(err.message).toBe('demo data option days: expected an integer between 1 and 3650, found 0');
    expect(statements).toEqual([]);
  });
});
