/**
 * Secrets never leave the process: real `pqlsync run` processes (debug logs on) sync to the sandbox's Salesforce
 * (refresh-token auth: expired sessions refreshed, then a revoked refresh token) and HubSpot (a private app token,
 * then a 401 mid-run), and a Postgres warehouse whose password is in a `${VAR}` fails to connect. Every byte they
 * wrote (stdout, stderr, the runs/snapshot/failures tables, every file in the project, `pqlsync runs --json`) is
 * scanned for every secret value, including the access tokens Salesforce issued during the runs.
 *
 * Each case routes its secrets into what pqlsync writes (a vendor error or a record rejection that quotes them,
 * a server that echoes the password) and checks the masked text arrived, so it fails with redaction switched off
 * (seen: each case failed with `scrubSecrets` returning its input unchanged).
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
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
    const { SF_ACCESS_TOKEN = '', SF_REFRESH_TOKEN = '', SF_CLIENT_SECRET = '' } = p.env;
    await admin(p.sandbox, 'POST', '/_sandbox/salesforce/oauth/expire', {});
    // A validation rule whose message quotes the session: the rejection reason carries three secrets.
    await admin(p.sandbox, 'POST', '/_sandbox/faults', {
      route: 'PATCH /composite/sobjects/Lead',
      rejectRecord: {
        nth: 1,
        code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
        message: `session ${SF_ACCESS_TOKEN} / ${SF_REFRESH_TOKEN} of client ${SF_CLIENT_SECRET} may not edit`,
      },
      times: 1,
    });
    const refreshed = await runCli(args(0), { cwd: p.project.dir, env });
    expect(refreshed.code, refreshed.stderr).toBe(3);
    expect(refreshed.stderr).toContain('"msg":"run finished"');
    const wh = new DuckdbAdapter({ path: p.dbPath });
    await wh.connect();
    try {
      const { rows } = await wh.query(
        `select reason from ${STATE}.${SYNC}__failures where code = 'FIELD_CUSTOM_VALIDATION_EXCEPTION'`,
      );
      expect(rows).toEqual([
        {
          reason:
            'FIELD_CUSTOM_VALIDATION_EXCEPTION: session [redacted] / [redacted] of client [redacted] may not edit',
        },
      ]);
    } finally {
      await wh.close();
    }

    await admin(p.sandbox, 'POST', '/_sandbox/salesforce/oauth/revoke', {});
    await admin(p.sandbox, 'POST', '/_sandbox/salesforce/oauth/expire', {});
    // The token endpoint's refusal quotes the refresh token it was sent.
    await admin(p.sandbox, 'POST', '/_sandbox/faults', {
      route: 'POST /services/oauth2/token',
      status: 400,
      body: { error: 'invalid_grant', error_description: `expired refresh token ${SF_REFRESH_TOKEN}` },
      times: 1,
    });
    const revoked = await runCli(args(1), { cwd: p.project.dir, env });
    expect(revoked.code).toBe(1);
    const summary = JSON.parse(revoked.stdout.trim()) as {
      status: string;
      error: { code: string; message: string };
    };
    expect(summary).toMatchObject({ status: 'failed', error: { code: 'DESTINATION_AUTH_FAILED' } });
    expect(summary.error.message).toContain('expired refresh token [redacted]');
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
  }, 180_000);

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
  }, 180_000);

  it('Postgres: a password in ${VAR} stays out of the connection error', async () => {
    // No real Postgres quotes a password back, but a pooler or proxy in front of one may: this server asks for
    // the password in clear text (as Postgres does for `password` auth) and refuses it, quoting it.
    const echo = await passwordEchoServer();
    const project = tempProject('pqlsync-rel-pg-');
    try {
      project.writeModel('pql_users', MODEL);
      project.writeConfig(`warehouse:
  type: postgres
  url: 'postgres://pqlsync:\${PG_PASSWORD}@127.0.0.1:${echo.port}/pqlsync'
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
      expect(echo.received).toEqual([PG_PASSWORD]);
      const summary = JSON.parse(run.stdout.trim()) as { error: { message: string; hint: string } };
      expect([summary.error.message, summary.error.hint]).toEqual([
        `cannot connect to Postgres at 127.0.0.1:${echo.port}/pqlsync: password authentication failed for user "pqlsync" (password "[redacted]")`,
        'check warehouse.url (or host, port, database, user) and that the password env var is set',
      ]);
      const runs = await runCli(['runs', '--config', project.configPath], { cwd: project.dir, env });
      const all = [output(run), output(runs), await leftBehind(project.dir, undefined)].join('\n');
      expect(leaked(all, { PG_PASSWORD })).toEqual([]);
    } finally {
      project.cleanup();
      await echo.close();
    }
  }, 180_000);
});

/**
 * A server that speaks just enough of the Postgres protocol to ask for a clear-text password (startup message →
 * AuthenticationCleartextPassword) and answer the password message with a FATAL error that quotes it.
 */
async function passwordEchoServer(): Promise<{ port: number; received: string[]; close(): Promise<void> }> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!started && buffer.length >= 4 && buffer.length >= buffer.readInt32BE(0)) {
        started = true;
        buffer = buffer.subarray(buffer.readInt32BE(0));
        const askPassword = Buffer.alloc(9);
        askPassword.write('R', 0);
        askPassword.writeInt32BE(8, 1);
        askPassword.writeInt32BE(3, 5);
        socket.write(askPassword);
      }
      if (started && buffer.length >= 5 && buffer[0] === 0x70 && buffer.length >= 1 + buffer.readInt32BE(1)) {
        const password = buffer.subarray(5, buffer.readInt32BE(1)).toString('utf8').replace(/\0$/, '');
        received.push(password);
        const fields = Buffer.from(
          `SFATAL\0C28P01\0Mpassword authentication failed for user "pqlsync" (password "${password}")\0\0`,
        );
        const error = Buffer.alloc(5);
        error.write('E', 0);
        error.writeInt32BE(4 + fields.length, 1);
        socket.end(Buffer.concat([error, fields]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
