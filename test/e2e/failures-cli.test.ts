/**
 * A user's first week (issue 21): a partial run says which records were rejected and why, `pqlsync failures`
 * lists them, `runs` names each run's top reason, and commands that never touch the CRM need none of its secrets.
 * Through the real CLI, against the Salesforce sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneLine } from '../../src/state/failure-report.js';
import { runCli } from '../helpers/cli.js';
import { reliabilityProject, SALESFORCE, type ReliabilityProject } from '../reliability/crm-harness.js';

const ROWS = 150; // one Salesforce collection of 200: every failure is committed at the same instant

// Each test spawns several CLIs in turn: up to 45 s at load 20, near vitest's 60 s default (issue 24's load flakes).
describe('rejections a user can see', { timeout: 240_000 }, () => {
  let rel: ReliabilityProject;
  beforeAll(async () => {
    rel = await reliabilityProject('salesforce', { rows: ROWS });
  });
  afterAll(async () => {
    await rel?.close();
  });

  /** The rejected rows of this project, as the CRM words them. */
  const rejected = () =>
    Array.from({ length: ROWS }, (_, i) => i + 1)
      .map((i) => ({ key: `u${i}`, ...SALESFORCE.rejection(i) }))
      .filter((r): r is { key: string; reason: string; code: string } => r.reason !== undefined);

  it('a partial run ends with its rejections grouped by reason, and the command that lists them', async () => {
    const run = await runCli(['run', 'users'], { cwd: rel.project.dir, env: rel.env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(3);
    const byKey = new Map(rejected().map((r) => [r.key, r]));
    expect([...byKey.keys()].sort()).toEqual(['u107', 'u113', 'u13', 'u21', 'u57', 'u7']);
    // Under the counts, the flag rate line; then, after a blank line, the rejections.
    expect(run.stdout).toContain('\nusers: flag rate 58.7% (88 of 150 rows, is_pql is true; ');
    const tail = run.stdout.slice(run.stdout.indexOf('\n\nusers: ') + 1);
    expect(tail).toBe(
      [
        '',
        'users: 6 not applied, by reason:',
        `  INVALID_VALUE on Email × 3 (keys u107, u57, u7): ${byKey.get('u107')!.reason}`,
        `  INVALID_VALUE on PQL_Tier__c × 2 (keys u113, u13): ${byKey.get('u113')!.reason}`,
        `  INVALID_VALUE on LastName × 1 (keys u21): ${byKey.get('u21')!.reason}`,
        '  list them all: pqlsync failures users',
        '',
      ].join('\n'),
    );
  });

  it('run --json carries the same groups', async () => {
    const run = await runCli(['run', 'users', '--json'], { cwd: rel.project.dir, env: rel.env });
    expect(run.code).toBe(3);
    const summary = JSON.parse(run.stdout) as { rejections: unknown[]; counts: { rejected: number } };
    expect(summary.counts.rejected).toBe(6);
    // Refused against the describe before sending: one code, told apart by the field.
    expect(summary.rejections.map((g) => (g as { fields: string[] }).fields)).toEqual([
      ['Email'],
      ['PQL_Tier__c'],
      ['LastName'],
    ]);
    expect(summary.rejections[2]).toEqual({
      code: 'INVALID_VALUE',
      fields: ['LastName'],
      count: 1,
      sampleKeys: ['u21'],
      message: rejected().find((r) => r.key === 'u21')!.reason,
    });
  });

  it('failures lists every rejected record with its fields, code, reason and attempts', async () => {
    const json = await runCli(['failures', 'users', '--json'], { cwd: rel.project.dir, env: rel.env });
    expect(json.code).toBe(0);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.key).sort()).toEqual(
      rejected()
        .map((r) => r.key)
        .sort(),
    );
    const u7 = lines.find((l) => l.key === 'u7')!;
    expect(u7).toMatchObject({
      sync: 'users',
      key: 'u7',
      fields: ['Email'],
      code: 'INVALID_VALUE',
      reason: rejected().find((r) => r.key === 'u7')!.reason,
      attempts: 2,
    });
    expect(Date.parse(String(u7.firstSeen))).toBeLessThan(Date.parse(String(u7.lastSeen)));

    const table = await runCli(['failures', 'users'], { cwd: rel.project.dir, env: rel.env });
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(
      /^sync\s+key\s+fields\s+code\s+attempts\s+first seen \(UTC\)\s+last seen \(UTC\)\s+reason$/,
    );
    expect(rows).toHaveLength(2 + 6);
    const u13 = oneLine(rejected().find((r) => r.key === 'u13')!.reason, 100);
    const row = rows.find((r) => r.includes(' u13 '))!;
    expect(row).toMatch(/^users\s+u13\s+PQL_Tier__c\s+INVALID_VALUE\s+2(\s+\S+ \S+){2}\s+/);
    expect(row.endsWith(u13)).toBe(true);

    const unknown = await runCli(['failures', 'user'], { cwd: rel.project.dir, env: rel.env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("pqlsync: no sync named 'user' in ");
  });

  it('runs names the top reason of each run that rejected records', async () => {
    const runs = await runCli(['runs', 'users'], { cwd: rel.project.dir, env: rel.env });
    expect(runs.code).toBe(0);
    const lines = runs.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/\btop reason\s+error$/);
    expect(lines).toHaveLength(2 + 2);
    // The latest run saw the six failures last; the first run's were retried by it, so it names none.
    expect(lines[2]).toMatch(/\bINVALID_VALUE on Email × 3\s*$/);
    expect(lines[3]).not.toMatch(/INVALID_VALUE/);
    const json = await runCli(['runs', 'users', '--json'], { cwd: rel.project.dir, env: rel.env });
    const latest = JSON.parse(json.stdout.split('\n')[0]!) as { topReason: unknown };
    expect(latest.topReason).toMatchObject({ code: 'INVALID_VALUE', fields: ['Email'], count: 3 });
  });

  it('compile, runs and failures need no CRM secret; run and plan name the missing one, before any sync starts', async () => {
    const env = { ...rel.env };
    for (const name of ['SF_URL', 'SF_ACCESS_TOKEN', 'SF_REFRESH_TOKEN', 'SF_CLIENT_SECRET'])
      delete env[name];
    const cwd = rel.project.dir;
    for (const args of [['compile', 'pql_users'], ['runs'], ['failures']]) {
      const r = await runCli(args, { cwd, env });
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
    for (const command of ['run', 'plan']) {
      const r = await runCli([command, 'users'], { cwd, env });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        [
          'pqlsync: 5 problems in config/pqlsync.yml:',
          '  config/pqlsync.yml:5: destinations.crm.instance_url: environment variable SF_URL is not set (export SF_URL=... before running pqlsync)',
          '  config/pqlsync.yml:9: destinations.crm.auth.client_secret: environment variable SF_CLIENT_SECRET is not set (export SF_CLIENT_SECRET=... before running pqlsync)',
          '  config/pqlsync.yml:10: destinations.crm.auth.refresh_token: environment variable SF_REFRESH_TOKEN is not set (export SF_REFRESH_TOKEN=... before running pqlsync)',
          '  config/pqlsync.yml:11: destinations.crm.auth.access_token: environment variable SF_ACCESS_TOKEN is not set (export SF_ACCESS_TOKEN=... before running pqlsync)',
          '  config/pqlsync.yml:12: destinations.crm.auth.login_url: environment variable SF_URL is not set (export SF_URL=... before running pqlsync)',
          '',
        ].join('\n'),
      );
    }
  });

  it('--fail-on-rejected-pct says why it turns exit 3 into 1', async () => {
    // By now only the six rejected rows are sent, and all six are rejected again: 100% of what was sent.
    const r = await runCli(['run', 'users', '--fail-on-rejected-pct', '50'], {
      cwd: rel.project.dir,
      env: rel.env,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'pqlsync: users rejected 6 of 6 records sent (100.0%), more than --fail-on-rejected-pct 50: exit 1\n',
    );
  });
});

describe('help', () => {
  it("a command's --help lists the global options", async () => {
    const r = await runCli(['runs', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Global Options:\n');
    for (const flag of ['--config <path>', '--vars <json>', '--json', '--log-level <level>'])
      expect(r.stdout).toContain(`  ${flag}`);
  });
});
