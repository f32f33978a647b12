/**
 * A jsforce connection for one Salesforce destination: auth (access token, refresh token, JWT bearer, client
 * credentials), the pinned API version, a refresh that happens at most once per failing call, request counting,
 * and proxy settings that honour NO_PROXY. jsforce is imported here and in the other files of this folder only.
 *
 * Glossary:
 * - refresh: on a 401, jsforce calls our `refreshFn`, then replays the request. We allow one refresh per
 *   failing call: when the new token is refused too, the call fails with DESTINATION_AUTH_FAILED instead of
 *   jsforce refreshing forever.
 * - request count: every HTTP request jsforce sends (REST, Bulk, OAuth), counted at its transport, with the
 *   attempts jsforce makes again by itself (its `retry` event).
 * - login: the OAuth tokens of one destination (`SalesforceLogin`). The sessions of one run (destination, task
 *   writer) share one, so the run logs in once; each session keeps its own connection and request count.
 */
import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import jsforce, { type Connection } from 'jsforce';
import type { TokenResponse } from 'jsforce/lib/oauth2.js';
import type { HttpRequest, HttpRequestOptions, Schema } from 'jsforce';
import type { DestinationConfig } from '../../config/config-schema.js';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { registerSecret } from '../../errors/secrets.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../transport.js';

export type SalesforceDestinationConfig = Extract<DestinationConfig, { type: 'salesforce' }>;
type SalesforceAuth = SalesforceDestinationConfig['auth'];

/** The oldest API version pqlsync speaks: Collections upsert needs 46, and 62.0 is what was verified. */
export const MIN_API_VERSION = 62;
const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';
/** A JWT bearer assertion is valid this long; Salesforce accepts at most 3 minutes. */
const JWT_LIFETIME_SECONDS = 180;
/** Socket errors jsforce may retry (GETs only): passing drops, not a host that refuses or does not exist. */
const JSFORCE_RETRIED_ERROR_CODES = ['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'ETIMEDOUT'];
/** Property set on an error jsforce rejects with: `METHOD url` of the request that failed. */
export const FAILED_REQUEST = Symbol('pqlsync.failedRequest');

export interface SalesforceSession {
  conn: Connection;
  /** Requests sent so far (REST, Bulk and OAuth). */
  requests(): number;
  /** Gets a first access token when the auth flow has none yet (JWT, client credentials, refresh only). */
  ensureToken(): Promise<void>;
  /** Marks a call as finished successfully: the next 401 may refresh again. */
  succeeded(): void;
}

export interface SessionOptions {
  /** Destination name in the config (for messages). */
  name: string;
  config: SalesforceDestinationConfig;
  /** Base directory for `private_key_path`. */
  projectDir: string;
  env?: NodeJS.ProcessEnv;
  /**
   * The run's login of this destination, shared with its other sessions (`createLogin`). (Default: a login of
   * this session's own)
   */
  login?: SalesforceLogin;
}

/**
 * The OAuth tokens of one destination, shared by the sessions of one run. A token request goes through the
 * connection of the session that needs it (counted there).
 */
export interface SalesforceLogin {
  /** The latest token got, if any (a session opened after a login starts with it). */
  latest(): TokenResponse | undefined;
  /** The first token: one request, however many sessions ask at once. */
  first(conn: Connection): Promise<TokenResponse>;
  /**
   * A token to replace `refused` (on a 401): the latest when another session got it since; else one new request,
   * however many sessions ask at once.
   */
  renew(conn: Connection, refused: string | undefined): Promise<TokenResponse>;
}

/** The login of a destination, for its sessions of one run; logs in on first use. */
export function createLogin(options: SessionOptions): SalesforceLogin {
  const { config, name } = options;
  const auth = config.auth;
  registerAuthSecrets(auth);
  const instanceUrl = config.instance_url.replace(/\/+$/, '');
  const loginUrl = loginUrlOf(auth, instanceUrl);
  const privateKey = auth.type === 'jwt' ? readPrivateKey(auth, options.projectDir, name) : undefined;

  /** One token request for the configured flow. */
  const requestToken = async (conn: Connection): Promise<TokenResponse> => {
    switch (auth.type) {
      case 'refresh_token':
        return conn.oauth2.refreshToken(auth.refresh_token);
      case 'client_credentials':
        return conn.oauth2.requestToken({ grant_type: 'client_credentials' });
      case 'jwt':
        return conn.oauth2.requestToken({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: signJwt(auth, privateKey ?? '', loginUrl),
        });
      default:
        throw new PqlsyncError('DESTINATION_AUTH_FAILED', 'an access token cannot be refreshed');
    }
  };
  let latest: TokenResponse | undefined;
  let pending: Promise<TokenResponse> | undefined;
  /** One request at a time: sessions that ask meanwhile get its answer. */
  const request = (conn: Connection): Promise<TokenResponse> =>
    (pending ??= requestToken(conn).then(
      (res) => {
        registerSecret(res.access_token);
        latest = res;
        pending = undefined;
        return res;
      },
      (err: unknown) => {
        pending = undefined;
        throw err;
      },
    ));
  return {
    latest: () => latest,
    first: (conn) => (latest ? Promise.resolve(latest) : request(conn)),
    renew: (conn, refused) =>
      latest && latest.access_token !== refused ? Promise.resolve(latest) : request(conn),
  };
}

export function createSession(options: SessionOptions): SalesforceSession {
  const { config, name } = options;
  const env = options.env ?? process.env;
  const version = Number(config.api_version);
  if (!(version >= MIN_API_VERSION)) {
    throw new PqlsyncError(
      'DESTINATION_CONFIG_INVALID',
      `api_version ${config.api_version} is older than ${MIN_API_VERSION}.0, the oldest version pqlsync supports`,
      {
        location: { path: `destinations.${name}.api_version` },
        hint: `set api_version: '${MIN_API_VERSION}.0' or later`,
      },
    );
  }
  const auth = config.auth;
  const login = options.login ?? createLogin(options);
  const instanceUrl = config.instance_url.replace(/\/+$/, '');
  const loginUrl = loginUrlOf(auth, instanceUrl);
  const latest = login.latest();

  let refreshedSinceSuccess = false;
  let requests = 0;
  const oauth2 =
    auth.type === 'access_token'
      ? undefined
      : {
          clientId: auth.client_id,
          ...('client_secret' in auth && auth.client_secret ? { clientSecret: auth.client_secret } : {}),
          loginUrl,
        };

  // `<Schema>` named: inferring it made tsc compute the variance of jsforce's whole Connection class (a seventh of
  // the typecheck's time); it is the type argument inference chose.
  const conn = new jsforce.Connection<Schema>({
    instanceUrl: latest?.instance_url?.replace(/\/+$/, '') ?? instanceUrl,
    version: config.api_version,
    callOptions: { client: 'pqlsync' },
    ...(auth.type === 'access_token' ? { accessToken: auth.access_token } : {}),
    ...(auth.type === 'refresh_token' && auth.access_token ? { accessToken: auth.access_token } : {}),
    // A session opened after the run logged in starts with the run's token.
    ...(latest ? { accessToken: latest.access_token } : {}),
    ...(oauth2 ? { oauth2 } : {}),
    ...(auth.type === 'access_token'
      ? {}
      : {
          refreshFn: (
            c: Connection,
            callback: (err: Error | null, accessToken?: string, res?: TokenResponse) => void,
          ) => {
            if (refreshedSinceSuccess) {
              callback(new Error('the refreshed access token was refused as well'));
              return;
            }
            refreshedSinceSuccess = true;
            login.renew(c, c.accessToken ?? undefined).then(
              (res) => callback(null, res.access_token, res),
              (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
            );
          },
        }),
  });

  // Count every request and keep proxies away from hosts NO_PROXY names (jsforce reads the proxy variables
  // at load and ignores NO_PROXY, so a local instance behind a corporate proxy would be unreachable). Every
  // request gets the destination's timeout, and a host that refuses connections or does not resolve is not
  // retried by jsforce (it retries GETs 5 times over 15 s): that failure is reported at once, with its URL.
  const noProxy = bypassProxy(instanceUrl, env) && bypassProxy(loginUrl, env);
  for (const transport of [conn._transport, conn.oauth2._transport]) {
    const send = transport.httpRequest.bind(transport);
    transport.httpRequest = (req: HttpRequest, opts?: HttpRequestOptions) => {
      requests++;
      const sent = send(req, {
        ...opts,
        ...(noProxy ? { httpProxy: undefined } : {}),
        // Configs built in code (not parsed) may lack the schema's default.
        timeout: config.request_timeout_ms ?? DEFAULT_REQUEST_TIMEOUT_MS,
        retry: { ...opts?.retry, errorCodes: JSFORCE_RETRIED_ERROR_CODES },
      });
      // jsforce sends a GET or PUT again itself after a 5xx, a 429 or a dropped connection, inside this one call:
      // each of those is a request Salesforce counts against the org's API limit, so each is counted here too.
      sent.stream().on('retry', () => requests++);
      // The error object reaches requestError through jsforce; this handler runs first and names the request.
      sent.catch((err: unknown) => {
        if (typeof err === 'object' && err !== null) {
          Object.assign(err, { [FAILED_REQUEST]: `${req.method} ${req.url.split('?')[0] ?? req.url}` });
        }
      });
      return sent;
    };
  }

  return {
    conn,
    requests: () => requests,
    succeeded: () => {
      refreshedSinceSuccess = false;
    },
    ensureToken: async () => {
      if (conn.accessToken) return;
      const res = await login.first(conn);
      conn.accessToken = res.access_token;
      if (res.instance_url) conn.instanceUrl = res.instance_url.replace(/\/+$/, '');
    },
  };
}

/** Where the configured flow asks for tokens, without a trailing slash. */
function loginUrlOf(auth: SalesforceAuth, instanceUrl: string): string {
  return (
    'login_url' in auth && auth.login_url ? auth.login_url : defaultLoginUrl(auth, instanceUrl)
  ).replace(/\/+$/, '');
}

function registerAuthSecrets(auth: SalesforceAuth): void {
  if (auth.type === 'access_token') registerSecret(auth.access_token);
  if (auth.type === 'refresh_token') {
    registerSecret(auth.refresh_token);
    registerSecret(auth.access_token);
    registerSecret(auth.client_secret);
  }
  if (auth.type === 'client_credentials') registerSecret(auth.client_secret);
  if (auth.type === 'jwt') registerSecret(auth.private_key);
}

/** JWT and refresh flows log in at login.salesforce.com; client credentials at the org's My Domain. */
function defaultLoginUrl(auth: SalesforceAuth, instanceUrl: string): string {
  return auth.type === 'client_credentials' ? instanceUrl : DEFAULT_LOGIN_URL;
}

function readPrivateKey(
  auth: Extract<SalesforceAuth, { type: 'jwt' }>,
  projectDir: string,
  name: string,
): string {
  if (auth.private_key) return auth.private_key.replace(/\\n/g, '\n');
  if (!auth.private_key_path) {
    throw new PqlsyncError(
      'DESTINATION_CONFIG_INVALID',
      'JWT auth needs private_key (from an env var) or private_key_path',
      {
        location: { path: `destinations.${name}.auth` },
        hint: 'set private_key_path: keys/salesforce.key, or private_key: ${SALESFORCE_PRIVATE_KEY}',
      },
    );
  }
  const file = path.resolve(projectDir, auth.private_key_path);
  try {
    const key = readFileSync(file, 'utf8');
    registerSecret(key);
    return key;
  } catch (err) {
    throw new PqlsyncError(
      'DESTINATION_CONFIG_INVALID',
      `cannot read the JWT private key file ${file}: ${(err as Error).message}`,
      {
        location: { path: `destinations.${name}.auth.private_key_path` },
        hint: 'point private_key_path at the PEM key of the connected app certificate',
      },
    );
  }
}

/** An RS256 JWT bearer assertion (iss = consumer key, sub = username, aud = login host). */
export function signJwt(
  auth: Extract<SalesforceAuth, { type: 'jwt' }>,
  privateKey: string,
  loginUrl: string,
): string {
  const aud =
    auth.audience ?? (/\/\/test\.salesforce\.com/.test(loginUrl) ? 'https://test.salesforce.com' : loginUrl);
  const header = { alg: 'RS256', typ: 'JWT' };
  const claims = {
    iss: auth.client_id,
    sub: auth.username,
    aud,
    exp: Math.floor(Date.now() / 1000) + JWT_LIFETIME_SECONDS,
  };
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${b64(header)}.${b64(claims)}`;
  try {
    const signature = createSign('RSA-SHA256').update(unsigned).sign(privateKey).toString('base64url');
    return `${unsigned}.${signature}`;
  } catch (err) {
    throw new PqlsyncError(
      'DESTINATION_CONFIG_INVALID',
      `cannot sign the JWT with the configured private key: ${(err as Error).message}`,
      {
        hint: 'the key must be the PEM private key (-----BEGIN PRIVATE KEY----- or BEGIN RSA PRIVATE KEY)',
      },
    );
  }
}

/** True when no proxy should be used for this URL: loopback hosts and hosts NO_PROXY lists. */
export function bypassProxy(url: string, env: NodeJS.ProcessEnv): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  if (host === 'localhost' || host === '::1' || host.startsWith('127.')) return true;
  const list = (env.NO_PROXY ?? env.no_proxy ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return list.some((entry) => {
    if (entry === '*') return true;
    const bare = entry.replace(/^\*?\./, '').replace(/:\d+$/, '');
    return host === bare || host.endsWith(`.${bare}`);
  });
}
