/**
 * Redshift IAM login: temporary database credentials from the Redshift API (a provisioned cluster), signed with the
 * AWS SDK's default credential chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE and
 * the shared files, SSO, web identity, ECS/EC2 roles), the way dbt's `method: iam` logs in.
 *
 * - GetClusterCredentials: a password for `db_user` (created on login with `auto_create`), answered as user
 *   `IAM:<db_user>`.
 * - GetClusterCredentialsWithIAM (`identity: iam`): a password for the database user mapped from the IAM identity
 *   itself; no db_user.
 * - Redshift Serverless GetCredentials (`workgroup`, `@aws-sdk/client-redshift-serverless`): a password for the
 *   database user mapped from the IAM identity (`IAM:<user>` / `IAMR:<role>`).
 *
 * The SDK loads only when this login is configured, at the first connection (`import()` here, never at the top of
 * a module a command loads otherwise). The password is fetched again when a new connection opens within a minute
 * of its expiry (a long-running daemon's pool opens connections for hours); open connections are not affected by
 * expiry. Each password is registered as a secret, so it is masked wherever it might be echoed.
 */
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { registerSecret } from '../../errors/secrets.js';

export interface RedshiftIamOptions {
  /** The provisioned cluster's identifier (give this or workgroup). */
  clusterId?: string;
  /** Redshift Serverless: the workgroup's name (GetCredentials). */
  workgroup?: string;
  /** Its AWS region. */
  region: string;
  /** `db_user`: GetClusterCredentials for `dbUser`; `iam`: GetClusterCredentialsWithIAM. (Default: db_user) */
  identity?: 'db_user' | 'iam';
  /** The database user (identity db_user). */
  dbUser?: string;
  /** The database the credentials are for. (Default: any, as the API's) */
  dbName?: string;
  /** Create `dbUser` at login when it does not exist. (Default: false) */
  autoCreate?: boolean;
  /** How long the password is valid, 900-3600 seconds. (Default: 900, the API's) */
  durationSeconds?: number;
  /** The clock deciding when a password is near its expiry. (Default: the system clock) */
  now?: () => Date;
}

export interface DatabaseCredentials {
  user: string;
  password: string;
  expiresAt: Date;
}

/** A fresh password this long before expiry. */
const REFRESH_MARGIN_MS = 60_000;

export class RedshiftIamCredentials {
  private current: DatabaseCredentials | undefined;
  private pending: Promise<DatabaseCredentials> | undefined;
  private client: { send(command: unknown): Promise<unknown> } | undefined;
  /** Calls made to the Redshift API (for tests and the debug log). */
  calls = 0;

  constructor(private readonly options: RedshiftIamOptions) {}

  /** Valid credentials: the cached ones, or new ones when there are none or they expire within a minute. */
  async get(): Promise<DatabaseCredentials> {
    const now = (this.options.now ?? (() => new Date()))().getTime();
    if (this.current && this.current.expiresAt.getTime() - REFRESH_MARGIN_MS > now) return this.current;
    this.pending ??= this.fetch().finally(() => (this.pending = undefined));
    this.current = await this.pending;
    return this.current;
  }

  private async fetch(): Promise<DatabaseCredentials> {
    const o = this.options;
    const withIam = o.identity === 'iam';
    const action = o.workgroup
      ? 'GetCredentials'
      : withIam
        ? 'GetClusterCredentialsWithIAM'
        : 'GetClusterCredentials';
    const target = o.workgroup ? `workgroup ${o.workgroup}` : `cluster ${o.clusterId}`;
    this.calls++;
    let out: { DbUser?: string; DbPassword?: string; Expiration?: Date };
    try {
      out = o.workgroup ? await this.getServerless(o.workgroup) : await this.getProvisioned(withIam);
    } catch (err) {
      throw new PqlsyncError(
        'WAREHOUSE_CONNECT_FAILED',
        `cannot get Redshift credentials (${action}, ${target} in ${o.region}): ${describeAwsError(err)}`,
        { cause: err, hint: hintFor(err, action) },
      );
    }
    if (!out.DbUser || !out.DbPassword || !out.Expiration) {
      throw new PqlsyncError(
        'WAREHOUSE_CONNECT_FAILED',
        `cannot get Redshift credentials (${action}, ${target}): the answer lacks DbUser, DbPassword or Expiration`,
      );
    }
    registerSecret(out.DbPassword);
    return { user: out.DbUser, password: out.DbPassword, expiresAt: out.Expiration };
  }

  private async getProvisioned(withIam: boolean) {
    const o = this.options;
    const sdk = await import('@aws-sdk/client-redshift');
    this.client ??= new sdk.RedshiftClient({ region: o.region });
    const common = {
      ClusterIdentifier: o.clusterId,
      ...(o.dbName ? { DbName: o.dbName } : {}),
      ...(o.durationSeconds ? { DurationSeconds: o.durationSeconds } : {}),
    };
    return (await this.client.send(
      withIam
        ? new sdk.GetClusterCredentialsWithIAMCommand(common)
        : new sdk.GetClusterCredentialsCommand({
            ...common,
            DbUser: o.dbUser,
            ...(o.autoCreate ? { AutoCreate: true } : {}),
          }),
    )) as { DbUser?: string; DbPassword?: string; Expiration?: Date };
  }

  /** Serverless GetCredentials (awsJson1_1), its camelCase answer as the provisioned one's fields. */
  private async getServerless(workgroup: string) {
    const o = this.options;
    const sdk = await import('@aws-sdk/client-redshift-serverless');
    this.client ??= new sdk.RedshiftServerlessClient({ region: o.region });
    const out = (await this.client.send(
      new sdk.GetCredentialsCommand({
        workgroupName: workgroup,
        ...(o.dbName ? { dbName: o.dbName } : {}),
        ...(o.durationSeconds ? { durationSeconds: o.durationSeconds } : {}),
      }),
    )) as { dbUser?: string; dbPassword?: string; expiration?: Date };
    return { DbUser: out.dbUser, DbPassword: out.dbPassword, Expiration: out.expiration };
  }
}

/** An AWS SDK error as `Name: message` (never its request, which carries the signature). */
function describeAwsError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name && err.name !== 'Error' && !err.message.startsWith(err.name)
    ? `${err.name}: ${err.message}`
    : err.message;
}

function hintFor(err: unknown, action: string): string {
  const name = err instanceof Error ? err.name : '';
  if (name === 'CredentialsProviderError')
    return 'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where an IAM role is attached';
  if (name === 'ResourceNotFoundException')
    return 'check warehouse.iam.workgroup and warehouse.iam.region (the workgroup name, not its endpoint)';
  if (name === 'ClusterNotFoundFault')
    return 'check warehouse.iam.cluster_id and warehouse.iam.region (the cluster identifier, not its endpoint)';
  if (action === 'GetCredentials')
    return 'the AWS identity needs redshift-serverless:GetCredentials on the workgroup (and its dbname resource); check warehouse.iam';
  return `the AWS identity needs redshift:${action} on the cluster (and its dbuser/dbname resources); check warehouse.iam`;
}
