/**
 * The local Salesforce's OAuth 2.0 token endpoint (`POST /services/oauth2/token`) and session store: which
 * access tokens are valid, which refresh tokens exist, and the admin switches that expire or revoke them so
 * tests can drive jsforce's refresh flow.
 *
 * Glossary:
 * - session: an access token and the user it acts as. The sandbox's own token (the one `pqlsync sandbox`
 *   prints) is always a session of the running user until it is expired through the admin route.
 * - grant: `refresh_token`, `client_credentials`, `password` or the JWT bearer grant, as jsforce sends them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { SandboxContext, SandboxResponse } from '../sandbox-types.js';
import type { SalesforceStore } from './salesforce-store.js';

/** OAuth settings of the local Salesforce. */
export interface SalesforceOAuthOptions {
  /** Connected app consumer key the client-credentials grant must send. (Default: any) */
  clientId?: string;
  /** Consumer secret the client-credentials grant must send. (Default: any) */
  clientSecret?: string;
  /** Password every seeded user accepts in the password grant. (Default: `sandbox-password`) */
  password?: string;
  /** Access tokens issued by the token endpoint expire this many seconds after issue. (Default: never) */
  sessionSeconds?: number;
}

interface Session {
  userId: string;
  issuedAt: number;
  expired: boolean;
}

export interface OAuthState {
  sessions: Record<string, Session>;
  refreshTokens: Record<string, { userId: string; revoked: boolean }>;
  mainTokenExpired: boolean;
}

const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function jsonResponse(status: number, body: unknown): SandboxResponse {
  return { status, headers: { 'Content-Type': 'application/json;charset=UTF-8' }, body };
}

function oauthError(error: string, description: string, status = 400): SandboxResponse {
  return jsonResponse(status, { error, error_description: description });
}

export class SalesforceOAuth {
  private state: OAuthState = { sessions: {}, refreshTokens: {}, mainTokenExpired: false };

  constructor(
    private readonly ctx: SandboxContext,
    private readonly store: SalesforceStore,
    private readonly orgId: string,
    private readonly options: SalesforceOAuthOptions = {},
  ) {}

  reset(): void {
    this.state = { sessions: {}, refreshTokens: {}, mainTokenExpired: false };
  }

  exportState(): OAuthState {
    return structuredClone(this.state);
  }

  importState(state: OAuthState | undefined): void {
    if (state) this.state = structuredClone(state);
  }

  /** The user id an `Authorization` header acts as, or undefined when the session is unknown or expired. */
  authenticate(header: string | undefined): string | undefined {
    const match = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(header ?? '');
    const token = match?.[1]?.trim();
    if (!token) return undefined;
    if (token === this.ctx.token) return this.state.mainTokenExpired ? undefined : this.store.runningUserId();
    const session = this.state.sessions[token];
    if (!session || session.expired) return undefined;
    const maxAge = this.options.sessionSeconds;
    if (maxAge !== undefined && this.ctx.now().getTime() - session.issuedAt >= maxAge * 1000)
      return undefined;
    return session.userId;
  }

  /** `POST /services/oauth2/token`. */
  token(body: unknown): SandboxResponse {
    const params = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const str = (k: string): string | undefined =>
      typeof params[k] === 'string' ? (params[k] as string) : undefined;
    switch (str('grant_type')) {
      case 'refresh_token': {
        const refresh = this.state.refreshTokens[str('refresh_token') ?? ''];
        if (!refresh || refresh.revoked) return oauthError('invalid_grant', 'expired access/refresh token');
        return jsonResponse(200, this.issue(refresh.userId, false));
      }
      case 'client_credentials': {
        const { clientId, clientSecret } = this.options;
        const id = str('client_id');
        const secret = str('client_secret');
        if (
          !id ||
          !secret ||
          (clientId !== undefined && id !== clientId) ||
          (clientSecret !== undefined && secret !== clientSecret)
        ) {
          return oauthError('invalid_client', 'invalid client credentials');
        }
        return jsonResponse(200, this.issue(this.store.runningUserId(), false));
      }
      case 'password': {
        const user = this.activeUser(str('username'));
        if (!user || str('password') !== (this.options.password ?? 'sandbox-password')) {
          return oauthError('invalid_grant', 'authentication failure');
        }
        return jsonResponse(200, this.issue(user, false));
      }
      case JWT_GRANT: {
        const claims = decodeJwt(str('assertion'));
        const nowSeconds = Math.floor(this.ctx.now().getTime() / 1000);
        if (
          !claims ||
          typeof claims.iss !== 'string' ||
          typeof claims.aud !== 'string' ||
          typeof claims.exp !== 'number' ||
          claims.exp <= nowSeconds
        ) {
          return oauthError('invalid_grant', 'invalid assertion');
        }
        const user = this.activeUser(typeof claims.sub === 'string' ? claims.sub : undefined);
        if (!user) return oauthError('invalid_grant', "user hasn't approved this consumer");
        return jsonResponse(200, this.issue(user, false));
      }
      default:
        return oauthError('unsupported_grant_type', 'grant type not supported');
    }
  }

  /** Admin: a session plus refresh token, as the web-server flow would give (`POST /_sandbox/salesforce/oauth/tokens`). */
  issueWithRefresh(username: string | undefined): SandboxResponse {
    const user = username === undefined ? this.store.runningUserId() : this.activeUser(username);
    if (!user)
      return jsonResponse(400, { error: `no active user with Username ${JSON.stringify(username)}` });
    return jsonResponse(200, this.issue(user, true));
  }

  /** Admin: expires one access token, or every session including the sandbox's own token. */
  expire(accessToken: string | undefined): SandboxResponse {
    let expired = 0;
    if (accessToken === undefined || accessToken === this.ctx.token) {
      this.state.mainTokenExpired = true;
      expired++;
    }
    for (const [token, session] of Object.entries(this.state.sessions)) {
      if (accessToken === undefined || token === accessToken) {
        session.expired = true;
        expired++;
      }
    }
    return jsonResponse(200, { expired });
  }

  /** Admin: revokes one refresh token or all of them. */
  revoke(refreshToken: string | undefined): SandboxResponse {
    let revoked = 0;
    for (const [token, entry] of Object.entries(this.state.refreshTokens)) {
      if (refreshToken === undefined || token === refreshToken) {
        entry.revoked = true;
        revoked++;
      }
    }
    return jsonResponse(200, { revoked });
  }

  private activeUser(username: string | undefined): string | undefined {
    const wanted = username?.toLowerCase();
    return this.store
      .all('User')
      .find((u) => u.IsActive === true && String(u.Username).toLowerCase() === wanted)?.Id;
  }

  private issue(userId: string, withRefresh: boolean): Record<string, string> {
    const issuedAt = this.ctx.now().getTime();
    const accessToken = `${this.orgId.slice(0, 15)}!${randomBytes(30).toString('base64url')}`;
    this.state.sessions[accessToken] = { userId, issuedAt, expired: false };
    const base = this.ctx.baseUrl();
    const id = `${base}/id/${this.orgId}/${userId}`;
    const response: Record<string, string> = {
      access_token: accessToken,
      instance_url: base,
      id,
      token_type: 'Bearer',
      issued_at: String(issuedAt),
      signature: createHmac('sha256', this.ctx.token)
        .update(id + issuedAt)
        .digest('base64'),
      scope: withRefresh ? 'api refresh_token' : 'api',
    };
    if (withRefresh) {
      const refreshToken = `5Aep${randomBytes(40).toString('base64url')}`;
      this.state.refreshTokens[refreshToken] = { userId, revoked: false };
      response.refresh_token = refreshToken;
    }
    return response;
  }
}

function decodeJwt(assertion: string | undefined): Record<string, unknown> | undefined {
  const payload = assertion?.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
