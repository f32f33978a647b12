/**
 * The bad-input corpus: each case is a small project (config + models + data) and a CLI call that must fail with a
 * located, actionable message and the documented exit code, leaving state untouched.
 */

export interface BadInputCase {
  name: string;
  /** Replace the base config text. */
  config?: (base: string) => string;
  /** Extra or replaced model files: name → text (a function gets the base model). */
  models?: Record<string, string | ((base: string) => string)>;
  /** SQL run on the warehouse before the call (data problems). */
  data?: string[];
  /** CLI args (default: run users). */
  args?: string[];
  /** Files to delete before the call (relative to the project). */
  remove?: string[];
  env?: Record<string, string>;
  code: number;
  /** The full stderr (after dropping JSON log lines), with `<DIR>` for the project directory. */
  stderr?: string;
  /** Or the full stdout. */
  stdout?: string;
  /** Keys whose rows the call rejects: their failures rows (reasons in bad-input-expected.json) are checked too. */
  rejectedKeys?: string[];
}

export const BASE_MODEL = `/*---
name: scores
description: Test scores per user
key: user_id
params:
  min_score: { type: integer, default: 0, min: 0, max: 100 }
  ratio: { type: number, default: 1.5 }
  label: { type: string, default: plain }
  active: { type: boolean, default: true }
  since: { type: date, default: '2026-01-01' }
  plans: { type: 'string[]', default: [free, trial] }
  users_table: { type: identifier, default: src.users, allowed_schemas: [src] }
  sort: { type: enum, values: [asc, desc], default: desc }
---*/
select user_id, email, score, :label as label,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from {{ users_table }}
where score >= :min_score and plan {{ in_list(plans) }} and created_at >= :since
order by score {{ sort }}
`;

export const BASE_CONFIG = `version: 1
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  out: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: out
    object: Lead
    match: { field: Ext__c, column: user_id }
    mode: upsert
    fields:
      Email: email
      Score__c: score
      Tier__c: tier
      Label__c: label
`;

export const BASE_DATA = [
  'create schema src',
  `create table src.users as select i as user_id, 'u' || i || '@example.com' as email, (i * 7) % 100 as score,
     case when i % 3 = 0 then 'trial' else 'free' end as plan, date '2026-06-01' as created_at from range(1, 51) t(i)`,
];

/** Nine levels of nine aliases each: 9^9 copies when expanded (YAML's "billion laughs"). */
const ALIAS_BOMB = [
  'lol0: &l0 [x, x, x, x, x, x, x, x, x]',
  ...Array.from({ length: 8 }, (_, i) => `lol${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(', ')}]`),
  '',
].join('\n');

const sub = (from: string, to: string) => (base: string) => {
  if (!base.includes(from)) throw new Error(`case setup: '${from}' not in base`);
  return base.replace(from, to);
};

export const BAD_INPUT_CASES: BadInputCase[] = [
  // ---- config ---------------------------------------------------------------------------------------
  { name: 'unknown top-level key', config: sub('version: 1\n', 'version: 1\nwarehose: {}\n'), code: 2 },
  { name: 'misspelled sync key', config: sub('    mode: upsert\n', '    mdoe: upsert\n'), code: 2 },
  {
    name: 'wrong type for a number',
    config: sub('    mode: upsert\n', '    mode: upsert\n    max_removed_pct: lots\n'),
    code: 2,
  },
  { name: 'mode not allowed', config: sub('mode: upsert', 'mode: sync'), code: 2 },
  { name: 'unset env var', config: sub('path: out }', 'path: "${PQLSYNC_TEST_OUT_DIR}" }'), code: 2 },
  { name: 'YAML syntax error', config: sub('    fields:\n', '    fields: [\n'), code: 2 },
  { name: 'YAML alias bomb in the config', config: (base) => `${base}${ALIAS_BOMB}`, code: 2 },
  { name: 'undefined destination', config: sub('destination: out', 'destination: crm'), code: 2 },
  {
    name: 'unknown depends_on',
    config: sub('    mode: upsert\n', '    mode: upsert\n    depends_on: [accounts]\n'),
    code: 2,
  },
  {
    name: 'sync name that cannot name a table',
    config: sub('  users:\n', '  my-users:\n'),
    args: ['run', '--all'],
    code: 2,
  },
  {
    name: 'unknown warehouse type',
    config: sub('{ type: duckdb, path: wh.duckdb }', '{ type: oracle }'),
    code: 2,
  },
  {
    name: 'missing match field',
    config: sub('    match: { field: Ext__c, column: user_id }\n', ''),
    code: 2,
  },
  { name: 'no config file', remove: ['config/pqlsync.yml'], code: 2 },
  {
    name: 'salesforce without auth',
    config: sub(
      '  out: { type: file, path: out }',
      '  out: { type: salesforce, instance_url: "https://x.my.salesforce.com" }',
    ),
    code: 2,
  },
  {
    name: 'mapped column the model does not return',
    config: sub('      Label__c: label\n', '      Label__c: label\n      Plan__c: plan_name\n'),
    code: 2,
  },
  // ---- models ---------------------------------------------------------------------------------------
  { name: 'unknown model', config: sub('model: scores', 'model: scorez'), code: 2 },
  { name: 'model without key in front matter', models: { scores: sub('key: user_id\n', '') }, code: 2 },
  {
    name: 'unknown param type',
    models: { scores: sub('ratio: { type: number, default: 1.5 }', 'ratio: { type: float, default: 1.5 }') },
    code: 2,
  },
  {
    name: 'default out of range',
    models: { scores: sub('default: 0, min: 0, max: 100', 'default: 200, min: 0, max: 100') },
    code: 2,
  },
  {
    name: 'param used in SQL but not declared',
    models: { scores: sub('score >= :min_score', 'score >= :min_scor') },
    code: 2,
  },
  { name: 'unterminated string', models: { scores: sub("'hot' when", "'hot when") }, code: 2 },
  { name: 'unknown macro', models: { scores: sub('{{ in_list(plans) }}', '{{ in_set(plans) }}') }, code: 2 },
  {
    name: 'front matter name differs from the file',
    models: { scores: sub('name: scores', 'name: points') },
    code: 2,
  },
  {
    name: 'model SQL error',
    models: {
      scores: sub('from {{ users_table }}', 'from {{ users_table }} u join src.nope n using (user_id)'),
    },
    code: 2,
  },
  {
    name: 'model without its key column',
    models: { scores: sub('select user_id, email', 'select email') },
    code: 2,
  },
  { name: 'front matter not YAML', models: { scores: sub('params:\n', 'params: [\n') }, code: 2 },
  {
    name: 'YAML alias bomb in the front matter',
    models: { scores: sub('key: user_id\n', `key: user_id\n${ALIAS_BOMB}`) },
    code: 2,
  },
  {
    name: 'model smuggles a second statement past its wrapper',
    models: {
      scores: sub(
        'order by score {{ sort }}',
        'order by score {{ sort }}) m0 limit 0; delete from src.users; select * from (select 1 as user_id',
      ),
    },
    args: ['plan', 'users'],
    code: 2,
  },
  // ---- params and vars -------------------------------------------------------------------------------
  { name: '--vars not JSON', args: ['run', 'users', '--vars', '{min_score: 5}'], code: 2 },
  { name: '--vars an array', args: ['run', 'users', '--vars', '[5]'], code: 2 },
  { name: 'unknown var', args: ['run', 'users', '--vars', '{"min_scor": 5}'], code: 2 },
  { name: 'param out of range', args: ['run', 'users', '--vars', '{"min_score": 500}'], code: 2 },
  { name: 'param of the wrong type', args: ['run', 'users', '--vars', '{"min_score": "ten"}'], code: 2 },
  { name: 'param set to null', args: ['run', 'users', '--vars', '{"min_score": null}'], code: 2 },
  {
    name: 'identifier injection',
    args: ['run', 'users', '--vars', '{"users_table": "src.users; drop table src.users"}'],
    code: 2,
  },
  {
    name: 'identifier outside the allowed schemas',
    args: ['run', 'users', '--vars', '{"users_table": "pqlsync_state.runs"}'],
    code: 2,
  },
  {
    name: 'identifier in an allowed schema of another database',
    args: ['run', 'users', '--vars', '{"users_table": "evil.src.users"}'],
    code: 2,
  },
  {
    name: 'enum value not declared',
    args: ['run', 'users', '--vars', '{"sort": "asc; drop table x"}'],
    code: 2,
  },
  { name: 'bad date', args: ['run', 'users', '--vars', '{"since": "2026-13-45"}'], code: 2 },
  {
    name: 'array param with a non-string',
    args: ['run', 'users', '--vars', '{"plans": ["free", 3]}'],
    code: 2,
  },
  {
    name: 'sync params in config with a bad value',
    config: sub('    mode: upsert\n', '    mode: upsert\n    params: { min_score: -1 }\n'),
    code: 2,
  },
  // ---- arguments --------------------------------------------------------------------------------------
  { name: 'unknown sync', args: ['run', 'userz'], code: 2 },
  { name: 'run without a sync', args: ['run'], code: 2 },
  {
    name: '--fail-on-rejected-pct not a number',
    args: ['run', 'users', '--fail-on-rejected-pct', 'ten'],
    code: 2,
  },
  { name: '--fail-on-rejected-pct empty', args: ['run', 'users', '--fail-on-rejected-pct', ''], code: 2 },
  {
    name: '--fail-on-rejected-pct in hex',
    args: ['run', 'users', '--fail-on-rejected-pct', '0x10'],
    code: 2,
  },
  { name: 'compile with an unknown dialect', args: ['compile', 'scores', '--dialect', 'oracle'], code: 2 },
  { name: 'unknown command', args: ['sync', 'users'], code: 2 },
  // ---- rows from the warehouse -------------------------------------------------------------------------
  {
    name: 'null and duplicate keys are invalid rows, not a crash',
    data: [
      `insert into src.users values (null, 'x@example.com', 50, 'free', date '2026-06-01'), (3, 'dup@example.com', 50, 'trial', date '2026-06-01')`,
    ],
    args: ['run', 'users', '--json'],
    code: 0,
  },
  {
    name: 'NaN and infinite scores are rejected with their field, never sent',
    models: {
      scores: sub(
        'select user_id, email, score,',
        "select user_id, email, case when user_id = 2 then 'NaN'::double when user_id = 4 then 1e308 * 10 else score end as score,",
      ),
    },
    code: 3,
    rejectedKeys: ['2', '4'],
  },
  {
    name: 'a date outside years 1-9999 rejects its row, not the run',
    models: {
      scores: sub(
        ':label as label',
        "case when user_id = 5 then '5000000-01-01'::date when user_id = 10 then 'infinity'::date else date '2026-01-01' end as label",
      ),
    },
    code: 3,
    rejectedKeys: ['5', '10'],
  },
];
