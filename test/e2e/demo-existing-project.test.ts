/**
 * `pqlsync demo --dir` pointed at a directory it did not make (issue 23, item 4): a user's project or DuckDB file
 * is refused with exit 2 and left exactly as it was; a directory the demo made is reused.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { runCli } from '../helpers/cli.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

const USER_CONFIG = `version: 1
warehouse: { type: duckdb, path: pqlsync.duckdb }
destinations:
  out: { type: file, path: output }
syncs:
  users:
    model: users
    destination: out
    object: Lead
    match: { field: Email, column: email }
    fields: { Email: email }
`;

/** The user's own tables: app.users with two people, app.orders beside it. */
async function seedUserTables(file: string): Promise<void> {
  const duck = new DuckdbAdapter({ path: file });
  await duck.connect();
  try {
    await duck.query('create schema app');
    await duck.query('create table app.users (user_id varchar, email varchar)');
    await duck.query(`insert into app.users values ('u1', 'ada@example.com'), ('u2', 'grace@example.com')`);
    await duck.query('create table app.events (user_id varchar, name varchar)');
    await duck.query(`insert into app.events values ('u1', 'login')`);
  } finally {
    await duck.close();
  }
}

async function userTables(file: string): Promise<unknown> {
  const duck = new DuckdbAdapter({ path: file });
  await duck.connect();
  try {
    const users = (await duck.query('select user_id, email from app.users order by user_id')).rows;
    const events = (await duck.query('select user_id, name from app.events')).rows;
    const tables = (
      await duck.query(
        `select table_name from information_schema.tables where table_schema = 'app' order by table_name`,
      )
    ).rows.map((r) => r.table_name);
    return { users, events, tables };
  } finally {
    await duck.close();
  }
}

const SEEDED = {
  users: [
    { user_id: 'u1', email: 'ada@example.com' },
    { user_id: 'u2', email: 'grace@example.com' },
  ],
  events: [{ user_id: 'u1', name: 'login' }],
  tables: ['events', 'users'],
};

// Each test spawns demo CLIs in turn: up to 42 s at load 20, near vitest's 60 s default (issue 24's load flakes).
describe('pqlsync demo --dir on a directory it did not create', { timeout: 240_000 }, () => {
  let project: TempProject | undefined;
  afterEach(() => project?.cleanup());

  it('refuses a non-demo project (exit 2) and changes none of its files or tables', async () => {
    project = tempProject('pqlsync-demo-guard-');
    project.writeConfig(USER_CONFIG);
    const db = path.join(project.dir, 'pqlsync.duckdb');
    await seedUserTables(db);
    const res = await runCli(['demo', '--dir', project.dir, '--crm', 'file', '--no-run']);
    expect(res.stderr).toBe(
      `pqlsync: ${project.dir} holds a pqlsync project that pqlsync demo did not create (the first line of ${project.configPath} is not "# pqlsync demo project (created by \`pqlsync demo\`)."); the demo leaves it alone\n` +
        '  hint: pass --dir a new directory, or one that pqlsync demo created\n',
    );
    expect(res.code).toBe(2);
    expect(readFileSync(project.configPath, 'utf8')).toBe(USER_CONFIG);
    expect(await userTables(db)).toEqual(SEEDED);
  });

  it('refuses a DuckDB file whose app tables the demo did not make, before writing a config', async () => {
    project = tempProject('pqlsync-demo-guard-');
    const db = path.join(project.dir, 'pqlsync.duckdb');
    await seedUserTables(db);
    const res = await runCli(['demo', '--dir', project.dir, '--crm', 'file', '--no-run']);
    expect(res.stderr).toBe(
      `pqlsync: ${db} holds app.users, app.events, which pqlsync demo did not create (there is no app.demo_clock); the demo would replace them, so it stops here\n` +
        '  hint: pass --dir a new directory, or one that pqlsync demo created\n',
    );
    expect(res.code).toBe(2);
    expect(existsSync(project.configPath)).toBe(false);
    expect(await userTables(db)).toEqual(SEEDED);
  });

  it('refuses user tables under a demo config too, and reuses its own data', async () => {
    project = tempProject('pqlsync-demo-guard-');
    const first = await runCli(['demo', '--dir', project.dir, '--crm', 'file', '--users', '200', '--no-run']);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('generated 200 users of synthetic product usage (seed 42)');
    // Its own data is reused, not regenerated.
    const again = await runCli(['demo', '--dir', project.dir, '--crm', 'file', '--no-run']);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');

    // The demo's config pointed at another DuckDB file that holds a user's tables: refused, tables kept.
    const db = path.join(project.dir, 'theirs.duckdb');
    await seedUserTables(db);
    const config = readFileSync(project.configPath, 'utf8');
    writeFileSync(project.configPath, config.replace('path: pqlsync.duckdb', 'path: theirs.duckdb'));
    const res = await runCli(['demo', '--dir', project.dir, '--crm', 'file', '--no-run']);
    expect(res.stderr).toBe(
      `pqlsync: ${db} holds app.users, app.events, which pqlsync demo did not create (there is no app.demo_clock); the demo would replace them, so it stops here\n` +
        '  hint: pass --dir a new directory, or one that pqlsync demo created\n',
    );
    expect(res.code).toBe(2);
    expect(await userTables(db)).toEqual(SEEDED);
  });
});
