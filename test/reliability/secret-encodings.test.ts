/**
 * Secrets are masked in every encoding a CRM or client can echo them in (issue 23, item 11): scrubbing used to
 * match only the literal value, so a token a CRM quoted URL-encoded or JSON-escaped in an error body reached
 * stderr, `--json`, `runs --json` and the runs table, and `http://user:pw@host` in a `base_url` leaked the password.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { clearSecretsForTests, registerSecret, scrubSecrets } from '../../src/errors/secrets.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { admin, reliabilityProject, STATE, SYNC, type ReliabilityProject } from './crm-harness.js';

/** A token with characters that every encoding changes: `/`, `+`, `=`, `"`, `\`, a space and a non-ASCII one. */
const TOKEN = 'pat-na1/7f3c+9e21="sec\\ret" hub-spot-é-4b8d';
const base64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Every form of `secret` the scrubber must catch. */
function encodings(secret: string): Record<string, string> {
  return {
    literal: secret,
    'URL-encoded': encodeURIComponent(secret),
    'URL-encoded, lower-case hex': encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (h) =>
      h.toLowerCase(),
    ),
    'form-encoded': new URLSearchParams({ t: secret }).toString().slice(2),
    'JSON-escaped': JSON.stringify(secret).slice(1, -1),
    'JSON-escaped with \\/ and \\u': JSON.stringify(secret)
      .slice(1, -1)
      .replace(/\//g, '\\/')
      .replace(/é/g, '\\u00e9'),
    'HTML entities': secret.replace(/"/g, '&quot;').replace(/é/g, '&#233;'),
    base64: base64(secret),
    base64url: Buffer.from(secret, 'utf8').toString('base64url'),
    'base64 after 1 byte': base64(`a${secret}`),
    'base64 after 2 bytes': base64(`ab${secret}`),
  };
}

describe('scrubSecrets masks every encoding of a registered secret', () => {
  afterEach(() => clearSecretsForTests());

  it.each(Object.entries(encodings(TOKEN)))('%s', (_, form) => {
    registerSecret(TOKEN);
    const scrubbed = scrubSecrets(`before ${form} after`);
    // base64 at an offset keeps the characters that also encode the bytes before it: a few bits, never the secret.
    expect(scrubbed).toMatch(/^before [A-Za-z0-9+/]{0,3}\[redacted\][A-Za-z0-9+/=_-]{0,3} after$/);
  });

  it('masks a Basic auth header, registered or not', () => {
    expect(scrubSecrets(`Authorization: Basic ${base64('svc:hunter2-password')}`)).toBe(
      'Authorization: Basic [redacted]',
    );
  });

  it('masks the userinfo of any URL, and leaves URLs without one alone', () => {
    expect(
      scrubSecrets(
        'GET http://pqlsync:pw-1234@127.0.0.1:8080/crm failed; postgres://me@db:5432/x; https://api.hubapi.com/crm',
      ),
    ).toBe(
      'GET http://[redacted]@127.0.0.1:8080/crm failed; postgres://[redacted]@db:5432/x; https://api.hubapi.com/crm',
    );
  });

  it('leaves text without secrets alone', () => {
    registerSecret(TOKEN);
    const text = 'HubSpot answered 401: token expired (see https://developers.hubspot.com/docs?x=1&y=2)';
    expect(scrubSecrets(text)).toBe(text);
  });
});

/** Each form of each secret that appears in `text` (by secret and form name). */
function leaked(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets).flatMap(([name, secret]) =>
    Object.entries(encodings(secret))
      .filter(([form, value]) => (form.startsWith('base64 after') ? false : text.includes(value)))
      .map(([form]) => `${name} (${form})`),
  );
}

async function runsTable(dbPath: string): Promise<string> {
  const wh = new DuckdbAdapter({ path: dbPath });
  await wh.connect();
  try {
    return JSON.stringify((await wh.query(`select * from ${STATE}.runs`)).rows);
  } finally {
    await wh.close();
  }
}

const output = (r: CliResult) => `${r.stdout}\n${r.stderr}`;
const projects: ReliabilityProject[] = [];
afterAll(async () => {
  for (const p of projects) await p.close();
});

describe('an encoded secret in a CRM error body reaches no output', () => {
  it('HubSpot quotes the token URL-encoded, JSON-escaped and in Basic auth: stderr, --json, runs --json and the runs table stay clean', async () => {
    const p = await reliabilityProject('hubspot', { rows: 10, sandbox: { token: TOKEN } });
    projects.push(p);
    // The scanner sees each form when it is there.
    expect(leaked(`x ${encodeURIComponent(TOKEN)}`, { TOKEN })).toEqual(['TOKEN (URL-encoded)']);
    await admin(p.sandbox, 'POST', '/_sandbox/faults', {
      route: p.profile.writeRoute,
      status: 401,
      body: {
        status: 'error',
        message: `token ${encodeURIComponent(TOKEN)} expired; request ${JSON.stringify({ auth: TOKEN })}; Basic ${base64(`u:${TOKEN}`)}`,
        category: 'EXPIRED_AUTHENTICATION',
      },
    });
    const env = { ...p.env, PQLSYNC_LOG_LEVEL: 'debug' };
    const run = await runCli(
      ['run', SYNC, '--config', p.project.configPath, '--json', '--log-level', 'debug'],
      {
        cwd: p.project.dir,
        env,
      },
    );
    expect(run.code, run.stderr).toBe(1);
    const summary = JSON.parse(run.stdout.trim()) as { error: { code: string; message: string } };
    expect(summary.error.code).toBe('DESTINATION_AUTH_FAILED');
    expect(summary.error.message).toContain(
      'token [redacted] expired; request {"auth":"[redacted]"}; Basic [redacted]',
    );
    const runs = await runCli(['runs', '--config', p.project.configPath, '--json'], {
      cwd: p.project.dir,
      env,
    });
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toContain('token [redacted] expired');
    const all = [output(run), output(runs), await runsTable(p.dbPath)].join('\n');
    expect(leaked(all, { TOKEN })).toEqual([]);
  }, 60_000);

  it('a password in the userinfo of a base_url reaches no output', async () => {
    const p = await reliabilityProject('hubspot', { rows: 10 });
    projects.push(p);
    const password = 'base-url-pw-6c1e9f';
    const config = readFileSync(p.project.configPath, 'utf8');
    p.project.writeConfig(
      config.replace("base_url: '${HUBSPOT_URL}'", `base_url: '${`http://pqlsync:${password}@127.0.0.1:9`}'`),
    );
    const env = { ...p.env, PQLSYNC_LOG_LEVEL: 'debug' };
    const run = await runCli(
      ['run', SYNC, '--config', p.project.configPath, '--json', '--log-level', 'debug'],
      {
        cwd: p.project.dir,
        env,
      },
    );
    expect(run.code).not.toBe(0);
    expect(output(run)).toContain('[redacted]@127.0.0.1');
    const runs = await runCli(['runs', '--config', p.project.configPath, '--json'], {
      cwd: p.project.dir,
      env,
    });
    const all = [output(run), output(runs), await runsTable(p.dbPath)].join('\n');
    expect(leaked(all, { password })).toEqual([]);
  }, 60_000);
});
