/**
 * The README's cron and Airflow recipes, run the way cron and Airflow's BashOperator run them: the command text
 * from `examples/` in a shell, with env vars, `pqlsync` on PATH, and the exit code checked.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { cliShim, REPO_DIR } from '../helpers/cli.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

const CRON_SCRIPT = path.join(REPO_DIR, 'examples/cron/pqlsync-cron.sh');
/** cron's PATH (Debian's cron, Vixie cron): neither a global npm install nor /usr/local/bin. */
const CRON_PATH = '/usr/bin:/bin';
const DAG = path.join(REPO_DIR, 'examples/airflow/pqlsync_dag.py');

const MODEL = `/*---
name: scores
key: user_id
---*/
select user_id, email, score from src.users
`;
const CONFIG = `warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  out: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: out
    object: Lead
    match: { field: Ext__c }
    fields: { Email: email, Score__c: score }
`;

interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function shell(command: string, options: { cwd: string; env: Record<string, string> }): Promise<ShellResult> {
  const child = spawn('/bin/sh', ['-c', command], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The crontab line printed in the cron script's header, with its example paths pointed at this checkout. */
function crontabCommand(projectDir: string, logFile: string): string {
  const line = readFileSync(CRON_SCRIPT, 'utf8')
    .split('\n')
    .find((l) => /^#\s+\*\/30 \* \* \* \* /.test(l));
  if (!line) throw new Error('no crontab line in the cron script');
  const command = line.replace(/^#\s+(\S+\s+){5}/, '');
  return command
    .replace('/srv/pql/examples/cron/pqlsync-cron.sh', CRON_SCRIPT)
    .replace('PQLSYNC_PROJECT_DIR=/srv/pql', `PQLSYNC_PROJECT_DIR=${projectDir}`)
    .replace('/var/log/pqlsync.jsonl', logFile);
}

/** The exit codes the DAG's BashOperator marks as skipped (`skip_on_exit_code=4` or `=[4, 5]`). */
function dagSkipCodes(): number[] {
  const m = /skip_on_exit_code=(\[[\d, ]*\]|\d+)/.exec(readFileSync(DAG, 'utf8'));
  if (!m?.[1]) throw new Error('no skip_on_exit_code in the DAG');
  return [...m[1].matchAll(/\d+/g)].map((d) => Number(d[0]));
}

/** PQLSYNC_COMMAND from the DAG: the Python string literals between the markers, joined. */
function airflowCommand(): string {
  const text = readFileSync(DAG, 'utf8');
  const block = text.slice(text.indexOf('# --- pqlsync command ---'), text.indexOf('# --- end ---'));
  const parts = [...block.matchAll(/'([^']*)'/g)].map((m) => m[1]);
  if (parts.length === 0) throw new Error('no PQLSYNC_COMMAND in the DAG');
  return parts.join('');
}

describe('recipes: cron and Airflow', () => {
  let p: TempProject;
  let bin: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    p = tempProject('pqlsync-recipes-');
    p.writeModel('scores', MODEL);
    p.writeConfig(CONFIG);
    const wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
    await wh.connect();
    await wh.query('create schema src');
    await wh.query(
      `create table src.users as select i as user_id, 'u' || i || '@example.com' as email, i % 100 as score from range(1, 51) t(i)`,
    );
    await wh.close();
    // `pqlsync` on PATH, as after `npm install -g pqlsync`.
    bin = path.join(p.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'pqlsync'), cliShim());
    chmodSync(path.join(bin, 'pqlsync'), 0o755);
    env = { PATH: `${bin}:${process.env.PATH ?? ''}`, PQLSYNC_LOG_LEVEL: 'warn' };
    // The same, installed in the project (`npm install pqlsync`), for cron, whose PATH has neither.
    const local = path.join(p.dir, 'node_modules', '.bin');
    mkdirSync(local, { recursive: true });
    writeFileSync(path.join(local, 'pqlsync'), readFileSync(path.join(bin, 'pqlsync')));
    chmodSync(path.join(local, 'pqlsync'), 0o755);
  });

  afterAll(() => p.cleanup());

  it('crontab: runs every sync and logs JSON; "already running" (exit 4) becomes exit 0; bad config stays 2', async () => {
    const log = path.join(p.dir, 'pqlsync.jsonl');
    const cron = { PATH: CRON_PATH, PQLSYNC_LOG_LEVEL: 'warn' };
    const first = await shell(crontabCommand(p.dir, log), { cwd: '/', env: cron });
    expect(first.code).toBe(0);
    const [summary] = readFileSync(log, 'utf8').trim().split('\n');
    expect(JSON.parse(summary!)).toMatchObject({
      sync: 'users',
      status: 'success',
      counts: { added: 50, applied: 50 },
    });

    // Another process holds the DuckDB file: pqlsync exits 4, the wrapper turns it into a quiet skip.
    const holder = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
    await holder.connect();
    try {
      const held = await shell(crontabCommand(p.dir, log), { cwd: '/', env: cron });
      expect(held.code).toBe(0);
    } finally {
      await holder.close();
    }
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.at(-1)).toBe('pqlsync: another run holds the lock; skipped');

    const noProject = await shell(crontabCommand(path.join(p.dir, 'nowhere'), log), { cwd: '/', env: cron });
    expect(noProject.code).toBe(2);
  });

  it('crontab: a project without pqlsync installed and none on PATH exits 2 saying what to do, not 127', async () => {
    const bare = tempProject('pqlsync-recipes-bare-');
    try {
      const log = path.join(bare.dir, 'pqlsync.jsonl');
      const r = await shell(crontabCommand(bare.dir, log), { cwd: '/', env: { PATH: CRON_PATH } });
      expect(r.code).toBe(2);
      expect(readFileSync(log, 'utf8')).toBe(
        `pqlsync-cron: pqlsync is neither in ${bare.dir}/node_modules/.bin nor on PATH (${CRON_PATH}:/usr/local/bin); ` +
          'run `npm install pqlsync` in the project or set PQLSYNC=/path/to/pqlsync in the crontab\n',
      );
    } finally {
      bare.cleanup();
    }
  });

  it('Airflow: the DAG command holds back syncs whose dbt upstream failed (exit 5, skipped by the DAG, not retried), runs after a green dbt (0), exit 4 when locked (skipped)', async () => {
    const target = path.join(p.dir, 'dbt-target');
    mkdirSync(target, { recursive: true });
    const airflowEnv = { ...env, DBT_TARGET_DIR: target };
    writeFileSync(
      path.join(target, 'run_results.json'),
      JSON.stringify({
        results: [
          { unique_id: 'model.shop.users', status: 'success', relation_name: '"wh"."src"."users"' },
          { unique_id: 'test.shop.not_null_users_email.1a2b', status: 'fail', relation_name: null },
        ],
      }),
    );
    writeFileSync(
      path.join(target, 'manifest.json'),
      JSON.stringify({
        nodes: {
          'model.shop.users': {
            resource_type: 'model',
            database: 'wh',
            schema: 'src',
            alias: 'users',
            name: 'users',
          },
          'test.shop.not_null_users_email.1a2b': {
            resource_type: 'test',
            depends_on: { nodes: ['model.shop.users'] },
          },
        },
      }),
    );
    const gated = await shell(airflowCommand(), { cwd: p.dir, env: airflowEnv });
    expect(gated.code).toBe(5);
    expect(dagSkipCodes()).toContain(gated.code);
    const blocked = JSON.parse(gated.stdout) as { status: string; error: { code: string; message: string } };
    expect([blocked.status, blocked.error.code, blocked.error.message]).toEqual([
      'failed',
      'DBT_UPSTREAM_FAILED',
      `sync users: not run: dbt node test.shop.not_null_users_email.1a2b has status 'fail' in ${target}/run_results.json, ` +
        'and model scores reads wh.src.users; fix dbt and rerun it first',
    ]);

    writeFileSync(
      path.join(target, 'run_results.json'),
      JSON.stringify({ results: [{ unique_id: 'test.shop.not_null_users_email.1a2b', status: 'pass' }] }),
    );
    const green = await shell(airflowCommand(), { cwd: p.dir, env: airflowEnv });
    expect(green.code).toBe(0);
    expect(JSON.parse(green.stdout)).toMatchObject({ sync: 'users', status: 'success' });

    const holder = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
    await holder.connect();
    try {
      const locked = await shell(airflowCommand(), { cwd: p.dir, env: airflowEnv });
      expect(locked.code).toBe(4);
      expect(dagSkipCodes()).toContain(locked.code);
    } finally {
      await holder.close();
    }
  });
});
