/**
 * A local stand-in for the Redshift API's credential actions, for the unmodified `@aws-sdk/client-redshift` (point
 * it here with AWS_ENDPOINT_URL_REDSHIFT), in front of a real Postgres standing in for the cluster.
 *
 * It answers the Query API as the AWS API reference describes (form-encoded `Action=...` POSTs, XML answers):
 * - GetClusterCredentials (https://docs.aws.amazon.com/redshift/latest/APIReference/API_GetClusterCredentials.html):
 *   ClusterIdentifier and DbUser required, DurationSeconds 900-3600 (default 900), AutoCreate; answers DbUser
 *   `IAM:<DbUser>`, DbPassword and Expiration.
 * - GetClusterCredentialsWithIAM
 *   (https://docs.aws.amazon.com/redshift/latest/APIReference/API_GetClusterCredentialsWithIAM.html): DbUser is
 *   the caller's IAM identity (`IAM:<name>`), plus NextRefreshTime.
 * - Redshift Serverless GetCredentials (https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_GetCredentials.html)
 *   for `@aws-sdk/client-redshift-serverless` (AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS): awsJson1_1, `X-Amz-Target:
 *   RedshiftServerless.GetCredentials`, body {workgroupName, dbName, durationSeconds (900-3600, default 900)};
 *   answers {dbUser `IAM:<iamUserName>`, dbPassword, expiration, nextRefreshTime} (epoch seconds), errors as
 *   {__type, message}: ResourceNotFoundException (unknown workgroup), ValidationException (400).
 * - errors as the Query API's `ErrorResponse` (https://docs.aws.amazon.com/redshift/latest/APIReference/CommonErrors.html):
 *   ClusterNotFound (404), InvalidParameterValue / MissingParameter (400), InvalidClientTokenId (403).
 *
 * The password is real: the sandbox sets it on the Postgres role named like the answered DbUser (creating the role
 * only with AutoCreate, as Redshift creates the user only then), so only a client that logs in with the answered
 * user and password gets in. Each call replaces the role's password (Redshift keeps earlier ones valid until they
 * expire; connections already open are unaffected either way). The request's SigV4 Authorization header is read for
 * its access key id, region and service, not verified cryptographically.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

export interface RedshiftCredentialsSandboxOptions {
  /** A superuser connection to the Postgres standing in for the clusters. */
  adminUrl: string;
  /** Cluster identifier → its region. */
  clusters: Record<string, { region: string }>;
  /** Serverless workgroup name → its region. (Default: none) */
  workgroups?: Record<string, { region: string }>;
  /** The AWS access key id the sandbox accepts. */
  accessKeyId: string;
  /** The IAM user name of that key (the database user of GetClusterCredentialsWithIAM). (Default: pqlsync) */
  iamUserName?: string;
  /** The clock of the answered Expiration. (Default: the system clock) */
  now?: () => Date;
}

export interface CredentialsCall {
  action: string;
  params: Record<string, string>;
  /** The answered DbPassword (tests look for it where it must never appear). */
  password?: string;
}

const NS = 'http://redshift.amazonaws.com/doc/2012-12-01/';

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const xml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export class RedshiftCredentialsSandbox {
  readonly calls: CredentialsCall[] = [];
  private server: Server | undefined;
  url = '';

  constructor(private readonly options: RedshiftCredentialsSandboxOptions) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let body = '';
    for await (const chunk of req) body += String(chunk);
    if (req.headers['x-amz-target']) return this.handleJson(req, res, body, requestId);
    const params = Object.fromEntries(new URLSearchParams(body));
    const call: CredentialsCall = { action: params.Action ?? '', params };
    this.calls.push(call);
    try {
      if (req.method !== 'POST') throw new ApiError(400, 'InvalidAction', 'only POST is served');
      const auth = this.authorize(req.headers.authorization);
      const result = await this.answer(call, auth);
      res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
      res.end(
        `<${call.action}Response xmlns="${NS}"><${call.action}Result>${result}</${call.action}Result>` +
          `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${call.action}Response>`,
      );
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalFailure', String(err));
      res.writeHead(e.status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
      res.end(
        `<ErrorResponse xmlns="${NS}"><Error><Type>${e.status < 500 ? 'Sender' : 'Receiver'}</Type>` +
          `<Code>${xml(e.code)}</Code><Message>${xml(e.message)}</Message></Error>` +
          `<RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    }
  }

  /** The Serverless API (awsJson1_1): GetCredentials only. */
  private async handleJson(
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    requestId: string,
  ): Promise<void> {
    const target = String(req.headers['x-amz-target']);
    const call: CredentialsCall = { action: target, params: {} };
    this.calls.push(call);
    try {
      const auth = this.authorize(req.headers.authorization, 'redshift-serverless');
      if (target !== 'RedshiftServerless.GetCredentials')
        throw new ApiError(400, 'UnknownOperationException', `${target} is not served`);
      const input = JSON.parse(body || '{}') as Record<string, unknown>;
      call.params = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, String(v)]));
      const result = await this.getCredentials(call, auth);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId });
      res.end(JSON.stringify(result));
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalServerException', String(err));
      res.writeHead(e.status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': requestId,
      });
      res.end(JSON.stringify({ __type: e.code, message: e.message }));
    }
  }

  private async getCredentials(call: CredentialsCall, auth: { region: string }) {
    const p = call.params;
    if (!p.workgroupName && !p.customDomainName)
      throw new ApiError(
        400,
        'ValidationException',
        'The workgroup name or custom domain name must be included.',
      );
    const workgroup = this.options.workgroups?.[p.workgroupName ?? ''];
    if (!workgroup || workgroup.region !== auth.region)
      throw new ApiError(400, 'ResourceNotFoundException', `Workgroup ${p.workgroupName ?? ''} not found.`);
    const duration = this.duration(p.durationSeconds, 'ValidationException');
    const dbUser = `IAM:${this.options.iamUserName ?? 'pqlsync'}`;
    const password = `AQ${randomBytes(24).toString('base64url')}`;
    await this.setPassword(dbUser, password, true);
    call.password = password;
    const now = (this.options.now ?? (() => new Date()))().getTime() / 1000;
    return {
      dbUser,
      dbPassword: password,
      expiration: now + duration,
      nextRefreshTime: now + duration / 2,
    };
  }

  /** DurationSeconds / durationSeconds: 900-3600, default 900. */
  private duration(value: string | undefined, code = 'InvalidParameterValue'): number {
    const duration = value ? Number(value) : 900;
    if (!Number.isInteger(duration) || duration < 900 || duration > 3600) {
      throw new ApiError(400, code, 'DurationSeconds must be between 900 and 3600 seconds.');
    }
    return duration;
  }

  /** The SigV4 credential scope: the access key must be the sandbox's, the service the API's. */
  private authorize(header: string | undefined, service = 'redshift'): { region: string } {
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=[^,]+, ?Signature=[0-9a-f]{64}$/.exec(
        header ?? '',
      );
    if (!m || m[1] !== this.options.accessKeyId || m[3] !== service) {
      throw new ApiError(
        403,
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
      );
    }
    return { region: m[2]! };
  }

  private async answer(call: CredentialsCall, auth: { region: string }): Promise<string> {
    const p = call.params;
    const withIam = call.action === 'GetClusterCredentialsWithIAM';
    if (!withIam && call.action !== 'GetClusterCredentials') {
      throw new ApiError(
        400,
        'InvalidAction',
        `The action ${call.action} is not valid for this web service.`,
      );
    }
    const clusterId = p.ClusterIdentifier;
    if (!clusterId)
      throw new ApiError(
        400,
        'MissingParameter',
        'The request must contain the parameter ClusterIdentifier.',
      );
    if (!withIam && !p.DbUser)
      throw new ApiError(400, 'MissingParameter', 'The request must contain the parameter DbUser.');
    const cluster = this.options.clusters[clusterId];
    if (!cluster || cluster.region !== auth.region) {
      throw new ApiError(404, 'ClusterNotFound', `Cluster ${clusterId} not found.`);
    }
    const duration = this.duration(p.DurationSeconds);
    const dbUser = `IAM:${withIam ? (this.options.iamUserName ?? 'pqlsync') : p.DbUser!}`;
    const password = `AQ${randomBytes(24).toString('base64url')}`;
    // The IAM identity's database user is created at its first login (the sandbox's reading of "mapped 1:1 to the
    // source IAM identity"); a named DbUser only with AutoCreate.
    await this.setPassword(dbUser, password, withIam || p.AutoCreate === 'true');
    call.password = password;
    const now = (this.options.now ?? (() => new Date()))().getTime();
    const iso = (ms: number) => new Date(ms).toISOString();
    return (
      `<DbUser>${xml(dbUser)}</DbUser><DbPassword>${xml(password)}</DbPassword>` +
      `<Expiration>${iso(now + duration * 1000)}</Expiration>` +
      (withIam ? `<NextRefreshTime>${iso(now + (duration * 1000) / 2)}</NextRefreshTime>` : '')
    );
  }

  private async setPassword(role: string, password: string, autoCreate: boolean): Promise<void> {
    const admin = new pg.Client({ connectionString: this.options.adminUrl });
    await admin.connect();
    try {
      const exists = (await admin.query('select 1 from pg_roles where rolname = $1', [role])).rows.length > 0;
      if (!exists && !autoCreate) return; // Redshift answers too; the login is what fails
      await admin.query(
        `${exists ? 'alter' : 'create'} role ${pg.escapeIdentifier(role)} login password ${pg.escapeLiteral(password)}`,
      );
    } finally {
      await admin.end();
    }
  }
}
