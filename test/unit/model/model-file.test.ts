import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { listModels, loadModel } from '../../../src/model/model-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-models-'));
});

function write(file: string, text: string): string {
  const full = path.join(dir, file);
  writeFileSync(full, text);
  return full;
}

/** The PqlsyncError `promise` rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<PqlsyncError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PqlsyncError);
  return err as PqlsyncError;
}

const VALID = `/*---
name: scores
description: Score per user
key: user_id
entity: user
as_of: as_of
params:
  lookback_days: { type: integer, default: 14, min: 1, max: 365 }
  events_table: { type: identifier, default: analytics.events, allowed_schemas: [analytics] }
  as_of: { type: date }
---*/
select user_id from {{ events_table }}
where occurred_at >= current_date - :lookback_days
`;

describe('loadModel', () => {
  it('reads the front matter and keeps the body on its original lines', async () => {
    const file = write('scores.sql', VALID);
    const model = await loadModel(dir, 'scores', 'duckdb');
    expect(model).toEqual({
      name: 'scores',
      description: 'Score per user',
      key: 'user_id',
      entity: 'user',
      asOf: 'as_of',
      params: {
        lookback_days: { type: 'integer', default: 14, min: 1, max: 365, required: false, line: 8 },
        events_table: {
          type: 'identifier',
          default: 'analytics.events',
          allowedSchemas: ['analytics'],
          required: false,
          line: 9,
        },
        as_of: { type: 'date', required: false, line: 10 },
      },
      path: file,
      frontMatterPath: file,
      body: `${'\n'.repeat(11)}select user_id from {{ events_table }}\nwhere occurred_at >= current_date - :lookback_days\n`,
      bodyPath: file,
      hash: createHash('sha256').update(VALID).digest('hex').slice(0, 12),
    });
    expect(model.body.split('\n')[12]).toBe('where occurred_at >= current_date - :lookback_days');
  });

  it('uses models/x.<dialect>.sql on that dialect, with the base front matter when it has none', async () => {
    const base = write('scores.sql', VALID);
    const override = write('scores.bigquery.sql', 'select 1 from {{ events_table }}\n');
    const bq = await loadModel(dir, 'scores', 'bigquery');
    expect(bq).toMatchObject({
      path: base,
      dialectPath: override,
      frontMatterPath: base,
      bodyPath: override,
    });
    expect(bq.body).toBe('select 1 from {{ events_table }}\n');
    expect(bq.hash).toBe(
      createHash('sha256')
        .update(VALID + readFileSync(override, 'utf8'))
        .digest('hex')
        .slice(0, 12),
    );
    const duck = await loadModel(dir, 'scores', 'duckdb');
    expect(duck.dialectPath).toBeUndefined();
    expect(duck.bodyPath).toBe(base);
  });

  it('lets an override carry its own front matter', async () => {
    write('scores.sql', VALID);
    const own = `/*---\nname: scores\nkey: id\n---*/\nselect 1 as id\n`;
    const override = write('scores.snowflake.sql', own);
    const model = await loadModel(dir, 'scores', 'snowflake');
    expect(model).toMatchObject({ key: 'id', params: {}, frontMatterPath: override, bodyPath: override });
  });

  it('lists base files and overrides once each, sorted', async () => {
    write('b_model.sql', VALID);
    write('a_model.duckdb.sql', VALID);
    write('b_model.bigquery.sql', VALID);
    write('notes.md', '');
    write('bad name.sql', '');
    expect(await listModels(dir)).toEqual(['a_model', 'b_model']);
    expect(await listModels(path.join(dir, 'missing'))).toEqual([]);
  });

  it('names the available models and the closest one when a model is not found', async () => {
    write('pql_users.sql', VALID);
    write('pqa_accounts.sql', VALID);
    const err = await failure(loadModel(dir, 'pql_user', 'duckdb'));
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.format()).toBe(
      `model "pql_user" not found in ${dir} (for duckdb); available models: pqa_accounts, pql_users\n` +
        '  hint: did you mean "pql_users"?',
    );
    const far = await failure(loadModel(dir, 'churn', 'duckdb'));
    expect(far.hint).toBe(`create ${path.join(dir, 'churn.sql')} or pass --models-dir`);
  });

  it('reports every front-matter problem together, each with its line and field path', async () => {
    const file = write(
      'scores.sql',
      `/*---
name: score
key: user_id
entity: team
as_of: lookback_days
colour: blue
params:
  lookback_days: { type: integer, default: 400, min: 1, max: 365 }
  label: { type: string, min: 2 }
  order: { type: enum }
  kind: { type: text }
  table: { type: identifier, default: "events; drop table x" }
---*/
select 1
`,
    );
    const err = await failure(loadModel(dir, 'scores', 'duckdb'));
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.kind).toBe('config');
    expect(err.format()).toBe(
      [
        `${file}: 9 problems in model scores:`,
        `  ${file}:2 (name): expected "scores" (the file name), found string "score"`,
        `  ${file}:4 (entity): expected one of "user", "account", found string "team"`,
        `  ${file}:5 (as_of): expected the name of a declared date param, found string "lookback_days"`,
        `  ${file}:6 (colour): unknown field; expected one of name, description, key, entity, as_of, params`,
        `  ${file}:8 (params.lookback_days.default): expected an integer between 1 and 365, found number 400`,
        `  ${file}:9 (params.label.min): min applies to integer and number params, found it on a string param`,
        `  ${file}:10 (params.order.values): required for an enum param; expected the list of allowed values`,
        `  ${file}:11 (params.kind.type): expected one of "integer", "number", "string", "boolean", "date", "string[]", "identifier", "enum", found string "text"`,
        `  ${file}:12 (params.table.default): expected an identifier like schema.table (1 to 3 dot-separated parts, each a letter or _ then letters, digits, _, $ or -, at most 128 characters), found string "events; drop table x"`,
        '  hint: fix the front matter between /*--- and ---*/ (see the model file reference in the README)',
      ].join('\n'),
    );
  });

  it('locates a single problem with the file, line and field', async () => {
    const missingKey = write(
      'a.sql',
      '\n/*---\nname: a\nparams:\n  n: { type: integer, min: 5, max: 1 }\n---*/\nselect 1\n',
    );
    expect((await failure(loadModel(dir, 'a', 'duckdb'))).format()).toBe(
      `${missingKey}: 2 problems in model a:\n` +
        `  ${missingKey}:2 (key): required field is missing; expected a string\n` +
        `  ${missingKey}:5 (params.n.max): expected max >= min (5), found 1\n` +
        '  hint: fix the front matter between /*--- and ---*/ (see the model file reference in the README)',
    );
    const noFrontMatter = write('b.sql', 'select 1\n');
    const err = await failure(loadModel(dir, 'b', 'duckdb'));
    expect(err.message).toBe(
      'no front matter; expected the file to start with a /*--- ... ---*/ comment holding name, key and params',
    );
    expect(err.where).toBe(`${noFrontMatter}:1`);
    const unclosed = write('c.sql', '/*---\nname: c\nkey: id\nselect 1\n');
    expect((await failure(loadModel(dir, 'c', 'duckdb'))).where).toBe(`${unclosed}:1`);
    expect((await failure(loadModel(dir, 'c', 'duckdb'))).message).toBe(
      'the front matter /*--- is never closed; expected a line ---*/ after the YAML',
    );
  });

  it('reports YAML syntax errors at their line in the model file', async () => {
    const file = write('d.sql', '/*---\nname: d\nkey: id\nkey: again\n---*/\nselect 1\n');
    const err = await failure(loadModel(dir, 'd', 'duckdb'));
    expect(err.format()).toBe(
      `${file}:4: invalid YAML: Map keys must be unique\n` +
        '  hint: fix the front matter between /*--- and ---*/ (see the model file reference in the README)',
    );
  });

  it('checks defaults of every type against the declaration', async () => {
    const file = write(
      'e.sql',
      `/*---
name: e
key: id
params:
  a: { type: number, default: "0.5" }
  b: { type: boolean, default: 1 }
  c: { type: date, default: 2024-02-30 }
  d: { type: 'string[]', default: [hot, lukewarm], values: [hot, warm] }
  f: { type: string, default: x, values: [y] }
  g: { type: enum, default: up, values: [asc, desc] }
  h: { type: enum, values: ["desc; drop"] }
  i: { type: identifier, default: public.events, allowed_schemas: [analytics, app] }
  j: { type: integer, default: 1.5, required: true }
---*/
select 1
`,
    );
    const err = await failure(loadModel(dir, 'e', 'duckdb'));
    expect(err.message).toBe(
      [
        '10 problems in model e:',
        `  ${file}:5 (params.a.default): expected a number, found string "0.5"`,
        `  ${file}:6 (params.b.default): expected true or false, found number 1`,
        `  ${file}:7 (params.c.default): expected a date YYYY-MM-DD, found string "2024-02-30"`,
        `  ${file}:8 (params.d.default): expected items among "hot", "warm", found string "lukewarm" at [1]`,
        `  ${file}:9 (params.f.default): expected one of "y", found string "x"`,
        `  ${file}:10 (params.g.default): expected one of "asc", "desc", found string "up"`,
        `  ${file}:11 (params.h.values.0): expected an enum value of letters, digits and _ (words separated by one space), found string "desc; drop"`,
        `  ${file}:12 (params.i.default): expected a table in schema analytics or app (allowed_schemas), found string "public.events"`,
        `  ${file}:13 (params.j.required): a required param cannot have a default; remove one of them`,
        `  ${file}:13 (params.j.default): expected an integer, found number 1.5`,
      ].join('\n'),
    );
  });
});
