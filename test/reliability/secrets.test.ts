/**
 * Secrets never leave the process: real `pqlsync run` processes (debug logs on) sync to the sandbox's Salesforce
 * (refresh-token auth: expired sessions refreshed, then a revoked refresh token) and HubSpot (a private app token,
 * then a 401 mid-run), and a Postgres warehouse whose password is in a `${VAR}` fails to connect. Every byte they
 * wrote (stdout, stderr, the runs/snapshot/failures tables, every file in the project, `pqlsync runs --json`) is
 * scanned for every secret value, including the access tokens Salesforce issued during the runs.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempProject } from '../helpers/temp-project.js';
import { admin, MODEL, reliabilityProject, STATE, SYNC, type ReliabilityProject } from './crm-harness.js';

const HUBSPOT_TOKEN = 'pat-na1-7f3c9e21-secret-hubspot-token-4b8d';
const PG_PASSWORD = 'pg-Sup3r-s3cret-passw0rd-91a7';

/** Everything a run left behind, as text. */
async function leftBehind(dir: string, dbPath: string | undefined): Promise<string> {
  const parts: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const file = path.join(d, name);
      if (statSync(file).isDirectory()) walk(file);
      else parts.push(`${file}\n${readFileSync(file).toString('latin1')}`);
    }
  };
  walk(dir);
  if (dbPath) {
    const wh = new DuckdbAdapter({ path: dbPath });
    await wh.connect();
    try {
      for (const table of ['runs', `${SYNC}__snapshot`, `${SYNC}__failures`, 'locks', 'meta']) {
        if (await wh.tableExists(STATE, table))
          parts.push(JSON.stringify((await wh.query(`select * from ${STATE}.${table}`)).rows));
      }
    } finally {
      await wh.close();
    }
  }
  return parts.join('\n');
}

function output(r: CliResult): string {
  return `${r.stdout}\n${r.stderr}`;
}

/** The secrets that appear in `text` (by name). */
function leaked(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name);
}

const DEBUG = { PQLSYNC_LOG_LEVEL: 'debug' };
const projects: ReliabilityProject[] = [];
afterAll(async () => {
  for (const p of projects) await p.close();
});

describe('secrets never appear in logs, errors, state or files', () => {
  it('the scanner finds a secret when there is one', () => {
    expect(leaked(`x ${PG_PASSWORD} y`, { PG_PASSWORD, HUBSPOT_TOKEN })).toEqual(['PG_PASSWORD']);
  });

  it('Salesforce: refresh after expiry, then a revoked refresh token', async () => {
    const p = await reliabilityProject('salesforce', { rows: 30 });
    projects.push(p);
    const args = (bump: number) => [
      'run',
      SYNC,
      '--config',
      p.project.configPath,
      '--vars',
      JSON.stringify({ bump }),
      '--json',
      '--log-level',
      'debug',
    ];
    const env = { ...p.env, ...DEBUG };
    await admin(p.sandbox, 'POST', '/_sandbox/salesforce/oauth/expire', {});
    const refreshed = await runCli(args(0), { cwd: p.project.dir, env });
    expect(refreshed.code, refreshed.stderr).toBe(3);
    expect(refreshed.stderr).toContain('"msg":"run finished"');

    await admin(p.sandbox, 'POST', '/_sandbox/salesforce/oauth/revoke', {});
    await admin(p.sandbox, 'POST', '/_sandbox/salesforce/oauth/expire', {});
    const revoked = await runCli(args(1), { cwd: p.project.dir, env });
    expect(revoked.code).toBe(1);
    expect(JSON.parse(revoked.stdout.trim())).toMatchObject({
      status: 'failed',
      error: { code: 'DESTINATION_AUTH_FAILED' },
    });
    const runs = await runCli(['runs', '--config', p.project.configPath, '--json'], {
      cwd: p.project.dir,
      env,
    });
    expect(runs.code, runs.stderr).toBe(0);

    // Every access token the sandbox issued (the refreshed ones too) counts as a secret.
    const oauth = (
      p.sandbox.apis.salesforce.exportState() as { oauth: { sessions: Record<string, unknown> } }
    ).oauth;
    const issued = Object.keys(oauth.sessions);
    expect(issued.length).toBe(2); // the token from env, and the one the refresh got
    const secrets: Record<string, string> = {
      SF_ACCESS_TOKEN: p.env.SF_ACCESS_TOKEN ?? '',
      SF_REFRESH_TOKEN: p.env.SF_REFRESH_TOKEN ?? '',
      SF_CLIENT_SECRET: p.env.SF_CLIENT_SECRET ?? '',
      ...Object.fromEntries(issued.map((t, i) => [`issued access token ${i + 1}`, t])),
    };
    const all = [
      output(refreshed),
      output(revoked),
      output(runs),
      await leftBehind(p.project.dir, p.dbPath),
    ].join('\n');
    expect(leaked(all, secrets)).toEqual([]);
  }, 60_000);

  it('HubSpot: a run with rejected rows, then a 401 mid-run', async () => {
    const p = await reliabilityProject('hubspot', { rows: 30, sandbox: { token: HUBSPOT_TOKEN } });
    projects.push(p);
    const args = (bump: number) => [
      'run',
      SYNC,
      '--config',
      p.project.configPath,
      '--vars',
      JSON.stringify({ bump }),
      '--json',
      '--log-level',
      'debug',
    ];
    const env = { ...p.env, ...DEBUG };
    const first = await runCli(args(0), { cwd: p.project.dir, env });
    expect(first.code, first.stderr).toBe(3);
    expect(first.stderr).toContain('"msg":"run finished"');
    await admin(p.sandbox, 'POST', '/_sandbox/faults', {
      route: p.profile.writeRoute,
      status: 401,
      body: {
        status: 'error',
        message: `token ${HUBSPOT_TOKEN} expired`,
        category: 'EXPIRED_AUTHENTICATION',
      },
    });
    const failed = await runCli(args(1), { cwd: p.project.dir, env });
    expect(failed.code).toBe(1);
    const summary = JSON.parse(failed.stdout.trim()) as { error: { code: string; message: string } };
    expect(summary.error.code).toBe('DESTINATION_AUTH_FAILED');
    // HubSpot's own error text quoted the token; pqlsync masks it.
    expect(summary.error.message).toContain('answered 401 EXPIRED_AUTHENTICATION: token ');
    const runs = await runCli(['runs', '--config', p.project.configPath, '--json'], {
      cwd: p.project.dir,
      env,
    });
    expect(runs.code, runs.stderr).toBe(0);
    const all = [output(first), output(failed), output(runs), await leftBehind(p.project.dir, p.dbPath)].join(
      '\n',
    );
    expect(leaked(all, { HUBSPOT_TOKEN })).toEqual([]);
  }, 60_000);

  it('Postgres: a password in ${VAR} stays out of the connection error', async () => {
    const project = tempProject('pqlsync-rel-pg-');
    try {
      project.writeModel('pql_users', MODEL);
      project.writeConfig(`warehouse:
  type: postgres
  url: 'postgres://pqlsync:\${PG_PASSWORD}@127.0.0.1:9/pqlsync'
destinations:
  out: { type: file, path: out }
syncs:
  ${SYNC}:
    model: pql_users
    destination: out
    object: Lead
    match: { field: Ext__c, column: user_id }
    fields: { Email: email }
`);
      const env = { ...process.env, ...DEBUG, PG_PASSWORD };
      const run = await runCli(
        ['run', SYNC, '--config', project.configPath, '--json', '--log-level', 'debug'],
        {
          cwd: project.dir,
          env,
        },
      );
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toContain('127.0.0.1:9');
      const runs = await runCli(['runs', '--config', project.configPath], { cwd: project.dir, env });
      const all = [output(run), output(runs), await leftBehind(project.dir, undefined)].join('\n');
      expect(leaked(all, { PG_PASSWORD })).toEqual([]);
    } finally {
      project.cleanup();
    }
  }, 60_000);
});
