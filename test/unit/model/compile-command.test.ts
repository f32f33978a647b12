/**
 * `pqlsync compile` end to end: the real CLI entry point in a child process, its stdout, stderr and exit code.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_NODE_ARGS } from '../../helpers/cli.js';

const ROOT = process.cwd();
const FIXTURES = path.join(ROOT, 'test/golden/fixtures/models');
/** tsx's loader by absolute URL, so the CLI also starts from a cwd outside the repository. */

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd = ROOT): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI_NODE_ARGS, 'compile', ...args],
      { cwd, env: { ...process.env, PQLSYNC_CONFIG: '' } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('pqlsync compile', () => {
  it('prints {"sql", "params"} with --json, with --vars applied', async () => {
    const res = await cli([
      'pqa_accounts',
      '--models-dir',
      FIXTURES,
      '--dialect',
      'postgres',
      '--vars',
      '{"active_days": 7}',
      '--json',
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { sql: string; params: unknown[] };
    expect(Object.keys(out)).toEqual(['sql', 'params']);
    expect(out.sql).toContain(
      'where u.signup_at >= (CURRENT_TIMESTAMP - make_interval(days => $1::integer))',
    );
    expect(out.params).toEqual([{ name: 'active_days', type: 'integer', value: 7 }]);
  });

  it('prints the SQL after a header naming the model, version, dialect and params', async () => {
    const res = await cli(['pqa_accounts', '--models-dir', FIXTURES, '--dialect', 'bigquery']);
    expect(res.code).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^-- pqa_accounts \(version [0-9a-f]{12}\) compiled for bigquery from .*pqa_accounts\.bigquery\.sql$/,
    );
    expect(lines[1]).toBe('-- @active_days active_days integer = 30');
    expect(lines[2]).toBe(
      '-- BigQuery override: same params (front matter comes from pqa_accounts.sql), QUALIFY instead of GROUP BY.',
    );
  });

  it('uses ./models and duckdb when there is no project config', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-compile-'));
    mkdirSync(path.join(dir, 'models'));
    writeFileSync(
      path.join(dir, 'models', 'm.sql'),
      '/*---\nname: m\nkey: id\nparams:\n  n: { type: integer, default: 2 }\n---*/\nselect :n as id\n',
    );
    const res = await cli(['m', '--json'], dir);
    expect(res.stdout).toBe(
      JSON.stringify({
        sql: '\n\n\n\n\n\nselect $n::INTEGER as id',
        params: [{ name: 'n', type: 'integer', value: 2 }],
      }) + '\n',
    );
  });

  it('exits 2 with the located message for an invalid value, an unknown model and bad --vars', async () => {
    const bad = await cli(['pqa_accounts', '--models-dir', FIXTURES, '--vars', '{"active_days": 0, "x": 1}']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    const file = path.relative(ROOT, path.join(FIXTURES, 'pqa_accounts.sql'));
    expect(bad.stderr).toBe(
      [
        `pqlsync: ${file}: 2 problems in model pqa_accounts:`,
        `  ${file} (param x): --vars sets "x", which the model does not declare; declared params: active_days, accounts_table, users_table`,
        `  ${file}:7 (param active_days): expected an integer between 1 and 365, found number 0 (from --vars)`,
        `  hint: declare params in the front matter; set values in the sync's params or with --vars '{"name": value}'`,
        '',
      ].join('\n'),
    );
    const missing = await cli(['pqa_acounts', '--models-dir', FIXTURES]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `pqlsync: model "pqa_acounts" not found in ${path.relative(ROOT, FIXTURES)} (for duckdb); available models: pqa_accounts, pql_users\n` +
        '  hint: did you mean "pqa_accounts"?\n',
    );
    const vars = await cli(['pqa_accounts', '--models-dir', FIXTURES, '--vars', '[1]']);
    expect(vars.code).toBe(2);
    expect(vars.stderr).toBe(
      `pqlsync: --vars must be a JSON object, got an array\n  hint: pass an object, e.g. --vars '{"lookback_days": 14}'\n`,
    );
  });
});
