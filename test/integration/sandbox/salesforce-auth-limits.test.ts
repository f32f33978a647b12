import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { admin, connect, jsforce, rejectionOf, start } from './salesforce-helpers.js';

let sandbox: RunningSandbox;
let clock: Date;

beforeEach(async () => {
  clock = new Date('2026-03-02T09:00:00Z');
  sandbox = await start({
    now: () => clock,
    salesforce: { oauth: { clientId: 'pqlsync-app', clientSecret: 'app-secret', sessionSeconds: 7200 } },
  });
});
afterEach(async () => {
  await sandbox.close();
});

const oauth2 = (): { clientId: string; clientSecret: string; loginUrl: string } => ({
  clientId: 'pqlsync-app',
  clientSecret: 'app-secret',
  loginUrl: sandbox.url,
});

function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.c2lnbmF0dXJl`;
}

describe('bearer check and token refresh', () => {
  it('answers an unknown token with 401 INVALID_SESSION_ID, which jsforce throws without a refresher', async () => {
    const err = await rejectionOf(connect(sandbox, 'not-a-session').query('SELECT Id FROM Lead'));
    expect([err.name, err.message]).toEqual(['INVALID_SESSION_ID', 'Session expired or invalid']);
  });

  it('lets jsforce refresh an expired token with its refresh token and replay the call', async () => {
    const issued = (await admin(sandbox, 'POST', '/_sandbox/salesforce/oauth/tokens')).body as Record<
      string,
      string
    >;
    expect(Object.keys(issued).sort()).toEqual(
      [
        'access_token',
        'id',
        'instance_url',
        'issued_at',
        'refresh_token',
        'scope',
        'signature',
        'token_type',
      ].sort(),
    );
    const conn = new jsforce.Connection({
      oauth2: oauth2(),
      instanceUrl: sandbox.url,
      accessToken: issued.access_token,
      refreshToken: issued.refresh_token,
      version: '62.0',
    });
    const refreshed: string[] = [];
    conn.on('refresh', (token: string) => refreshed.push(token));
    expect((await conn.query('SELECT Id FROM User WHERE IsActive = true')).totalSize).toBe(4);

    expect(
      (
        await admin(sandbox, 'POST', '/_sandbox/salesforce/oauth/expire', {
          accessToken: issued.access_token,
        })
      ).body,
    ).toEqual({
      expired: 1,
    });
    expect((await conn.query('SELECT Id FROM User WHERE IsActive = false')).totalSize).toBe(1);
    expect(refreshed).toHaveLength(1);
    expect(conn.accessToken).toBe(refreshed[0]);
    expect(conn.accessToken).not.toBe(issued.access_token);

    const paths = (
      (await admin(sandbox, 'GET', '/_sandbox/requests')).body as Array<{
        method: string;
        path: string;
        status: number;
      }>
    ).map((e) => `${e.method} ${e.path.replace(/\?.*/, '')} ${e.status}`);
    expect(paths).toEqual([
      'GET /services/data/v62.0/query 200',
      'GET /services/data/v62.0/query 401',
      'POST /services/oauth2/token 200',
      'GET /services/data/v62.0/query 200',
    ]);
  });

  it('expires sessions after sessionSeconds on the injected clock, and a revoked refresh token fails', async () => {
    const issued = (await admin(sandbox, 'POST', '/_sandbox/salesforce/oauth/tokens')).body as Record<
      string,
      string
    >;
    const conn = new jsforce.Connection({
      oauth2: oauth2(),
      instanceUrl: sandbox.url,
      accessToken: issued.access_token,
      refreshToken: issued.refresh_token,
      version: '62.0',
    });
    await admin(sandbox, 'POST', '/_sandbox/salesforce/oauth/revoke', { refreshToken: issued.refresh_token });
    clock = new Date('2026-03-02T11:00:00Z');
    const err = await rejectionOf(conn.query('SELECT Id FROM Lead'));
    expect(err.message).toBe('Unable to refresh session due to: expired access/refresh token');
  });

  it('issues tokens for client credentials, password and JWT bearer grants with the fields jsforce parses', async () => {
    const cc = new jsforce.Connection({ oauth2: oauth2(), version: '62.0' });
    const info = await cc.authorize({ grant_type: 'client_credentials' });
    expect(info.organizationId).toBe('00DSb0000000001MAA');
    expect(info.id).toBe('005Sb0000000001IAA');
    expect(cc.instanceUrl).toBe(sandbox.url);
    expect((await cc.query('SELECT COUNT() FROM User')).totalSize).toBe(5);

    const pw = new jsforce.Connection({ oauth2: oauth2(), version: '62.0' });
    await pw.login('ava.patel@example.com', 'sandbox-password');
    expect(pw.userInfo?.id).toBe('005Sb0000000002IAA');

    const jwt = new jsforce.Connection({ oauth2: oauth2(), version: '62.0' });
    const exp = Math.floor(clock.getTime() / 1000) + 180;
    await jwt.authorize({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: unsignedJwt({
        iss: 'pqlsync-app',
        sub: 'ben.okafor@example.com',
        aud: 'https://login.salesforce.com',
        exp,
      }),
    });
    expect(jwt.userInfo?.id).toBe('005Sb0000000003IAA');
  });

  it('answers bad grants with 400 and the OAuth error body', async () => {
    const wrongSecret = new jsforce.Connection({
      oauth2: { ...oauth2(), clientSecret: 'nope' },
      version: '62.0',
    });
    const e1 = await rejectionOf(wrongSecret.authorize({ grant_type: 'client_credentials' }));
    expect([e1.name, e1.message]).toEqual(['invalid_client', 'invalid client credentials']);
    const e2 = await rejectionOf(
      new jsforce.Connection({ oauth2: oauth2() }).login('ava.patel@example.com', 'wrong'),
    );
    expect([e2.name, e2.message]).toEqual(['invalid_grant', 'authentication failure']);
    const e3 = await rejectionOf(
      new jsforce.Connection({ oauth2: oauth2() }).authorize({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: unsignedJwt({ iss: 'pqlsync-app', sub: 'ben.okafor@example.com', aud: 'x', exp: 1 }),
      }),
    );
    expect([e3.name, e3.message]).toEqual(['invalid_grant', 'invalid assertion']);
    const e4 = await rejectionOf(
      new jsforce.Connection({ oauth2: oauth2() }).authorize({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: unsignedJwt({
          iss: 'pqlsync-app',
          sub: 'dev.inactive@example.com',
          aud: 'x',
          exp: 4102444800,
        }),
      }),
    );
    expect([e4.name, e4.message]).toEqual(['invalid_grant', "user hasn't approved this consumer"]);
  });
});

describe('daily API limit', () => {
  it('reports usage in Sforce-Limit-Info and GET /limits, then answers 403 REQUEST_LIMIT_EXCEEDED', async () => {
    await admin(sandbox, 'POST', '/_sandbox/salesforce/limits', { dailyApiLimit: 3 });
    const conn = connect(sandbox);
    await conn.query('SELECT Id FROM Lead');
    expect(conn.limitInfo).toEqual({ apiUsage: { used: 1, limit: 3 } });
    const limits = await conn.limits();
    expect(limits.DailyApiRequests).toEqual({ Max: 3, Remaining: 1 });
    await conn.sobject('Lead').describe();
    const err = await rejectionOf(conn.query('SELECT Id FROM Lead'));
    expect([err.name, err.message]).toEqual(['REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.']);
    expect(conn.limitInfo).toEqual({ apiUsage: { used: 3, limit: 3 } });

    clock = new Date('2026-03-03T09:00:01Z');
    await conn.query('SELECT Id FROM Lead');
    expect(conn.limitInfo).toEqual({ apiUsage: { used: 1, limit: 3 } });
  });
});
