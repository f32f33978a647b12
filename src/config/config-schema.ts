/**
 * The project config (`config/pqlsync.yml`), as zod schemas. The JSON Schema for editors
 * (`config/pqlsync.schema.json`) is generated from these by `npm run schema`; a test keeps it current.
 *
 * Glossary:
 * - warehouse: where models run and state lives (DuckDB file by default).
 * - destination: a named CRM connection (type + auth) that syncs point at.
 * - sync: one model → one destination object, with a field mapping, a match key and a mode.
 * - mode: `update` (existing records only), `upsert` (create or update), `mirror` (upsert, and clear the mapped
 *   fields of rows that left the model; nothing is ever deleted).
 */
import { z } from 'zod';
import { BYTE_SIZE_UNITS } from '../util/byte-size.js';

export const SYNC_MODES = ['update', 'upsert', 'mirror'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export const identifierPart = /^[A-Za-z_][A-Za-z0-9_]*$/;
const syncName = z
  .string()
  .regex(
    identifierPart,
    'cannot name a sync: use a letter or _ then letters, digits and _ (it names state tables)',
  );

/** DuckDB's memory_limit per sync while a run streams changes, unless the config says otherwise. */
export const DEFAULT_STREAM_MEMORY_LIMIT = '64MB';
/**
 * DuckDB's memory_limit (the plan's, and outside streams) unless the config says otherwise: DuckDB's own default, 80%
 * of RAM, let a 1M-row plan hold 380 MB; under this limit it spills to its temp directory and the whole process stays
 * under 300 MB.
 */
export const DEFAULT_MEMORY_LIMIT = '128MB';

export const duckdbWarehouseSchema = z.strictObject({
  type: z.literal('duckdb'),
  /** Path of the DuckDB file, relative to the project directory. (Default: `pqlsync.duckdb`) */
  path: z.string().default('pqlsync.duckdb').describe('DuckDB file, relative to the project directory'),
  threads: z.number().int().min(1).max(64).optional(),
  /** DuckDB's memory_limit, e.g. '1GB'. (Default: `128MB`) */
  memory_limit: z
    .string()
    .optional()
    .describe(
      "DuckDB memory_limit, e.g. '1GB' (default: 128MB; more makes large plans faster; see the README)",
    ),
  /**
   * DuckDB's memory_limit per sync while runs only stream changes and commit state, when lower than memory_limit;
   * `none`: memory_limit throughout. The journal's fold after the stream runs under the larger of this and 64MB.
   * (Default: `64MB`)
   */
  stream_memory_limit: z
    .string()
    .regex(
      new RegExp(`^(none|\\d+(\\.\\d+)?\\s*(${BYTE_SIZE_UNITS}))$`, 'i'),
      "a size such as '64MB' or '1GiB', or none",
    )
    .default(DEFAULT_STREAM_MEMORY_LIMIT)
    .describe(
      'DuckDB memory_limit per sync while a run only streams changes to the destination and commits state (default: 64MB; none: memory_limit throughout; see the README)',
    ),
});

/** Postgres TLS with the server's CA (node-postgres' `ssl` options). */
export const postgresSslSchema = z.strictObject({
  /** PEM file of the CA that signed the server's certificate, relative to the project directory. */
  ca_path: z.string().optional(),
  /** Refuse a server whose certificate the CA does not vouch for, or whose name differs. (Default: true) */
  reject_unauthorized: z.boolean().optional(),
});

/** Redshift IAM login (GetClusterCredentials / GetClusterCredentialsWithIAM, Serverless GetCredentials), signed by the AWS credential chain. */
export const redshiftIamSchema = z.strictObject({
  /** The cluster identifier. (Default: the first label of a Redshift endpoint `host`) */
  cluster_id: z.string().optional(),
  /** Redshift Serverless: the workgroup name (GetCredentials). (Default: the first label of a Serverless endpoint `host`) */
  workgroup: z.string().optional(),
  /** The cluster's or workgroup's AWS region. (Default: the region in a Redshift endpoint `host`) */
  region: z.string().optional(),
  /** `db_user`: a password for db_user (GetClusterCredentials); `iam`: for the IAM identity's own database user (GetClusterCredentialsWithIAM). (Default: db_user) */
  identity: z.enum(['db_user', 'iam']).default('db_user'),
  /** The database user the password is for. (Default: warehouse.user) */
  db_user: z.string().optional(),
  /** Create db_user at login when it does not exist. (Default: false) */
  auto_create: z.boolean().optional(),
  /** How long each password is valid; pqlsync asks for a new one before it expires. (Default: 900) */
  duration_seconds: z.number().int().min(900).max(3600).optional(),
});

/** `<cluster>.<id>.<region>.redshift.amazonaws.com`: a provisioned cluster's endpoint. */
const REDSHIFT_ENDPOINT = /^([a-z0-9-]+)\.[a-z0-9]+\.([a-z0-9-]+)\.redshift\.amazonaws\.com(\.cn)?$/i;

/** `<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com`: a Serverless workgroup's endpoint. */
const SERVERLESS_ENDPOINT =
  /^([a-z0-9-]+)\.[0-9]+\.([a-z0-9-]+)\.redshift-serverless\.amazonaws\.com(\.cn)?$/i;

/**
 * The IAM login's cluster (or Serverless workgroup) and region: as configured, else read from a Redshift endpoint
 * host. A workgroup (configured or from a Serverless host) means Serverless, unless a cluster_id is configured.
 */
export function redshiftIamTarget(
  iam: { cluster_id?: string | undefined; workgroup?: string | undefined; region?: string | undefined },
  host: string | undefined,
): { clusterId?: string; workgroup?: string; region?: string } {
  const serverless = !iam.cluster_id && host ? SERVERLESS_ENDPOINT.exec(host) : null;
  const m = serverless ?? (host ? REDSHIFT_ENDPOINT.exec(host) : null);
  const workgroup = iam.workgroup ?? (serverless ? m?.[1] : undefined);
  const clusterId = workgroup ? undefined : (iam.cluster_id ?? m?.[1]);
  const region = iam.region ?? m?.[2];
  return {
    ...(clusterId ? { clusterId } : {}),
    ...(workgroup ? { workgroup } : {}),
    ...(region ? { region } : {}),
  };
}

/** The host a Postgres/Redshift config names (`host`, else the URL's). */
export function warehouseHost(wh: {
  host?: string | undefined;
  url?: string | undefined;
}): string | undefined {
  if (wh.host) return wh.host;
  try {
    return wh.url ? new URL(wh.url).hostname || undefined : undefined;
  } catch {
    return undefined;
  }
}

const postgresWarehouseFields = z.strictObject({
  type: z.enum(['postgres', 'redshift']),
  /** A connection URL (`postgres://user@host:5432/db`); put the password in an env var. */
  url: z.string().optional(),
  host: z.string().optional(),
  port: z.number().int().optional(),
  database: z.string().optional(),
  user: z.string().optional(),
  password: z.string().optional(),
  /** TLS: `true` (verified against the system's CAs) or `{ ca_path, reject_unauthorized }`. (Default: none) */
  ssl: z.union([z.boolean(), postgresSslSchema]).optional(),
  pool_max: z.number().int().min(1).max(100).optional(),
  /** Redshift only: log in with temporary credentials from the Redshift API instead of a password. */
  iam: redshiftIamSchema.optional(),
});
export const postgresWarehouseSchema = postgresWarehouseFields.superRefine((wh, ctx) => {
  if (!wh.iam) return;
  const issue = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (wh.type !== 'redshift') return issue(['iam'], 'is for type: redshift only');
  if (wh.password !== undefined) issue(['password'], 'give either password or iam, not both');
  const target = redshiftIamTarget(wh.iam, warehouseHost(wh));
  if (target.workgroup) {
    // Serverless GetCredentials logs in as the caller's IAM identity: no cluster, database user or auto_create.
    if (wh.iam.cluster_id) issue(['iam', 'workgroup'], 'give either cluster_id or workgroup, not both');
    if (!target.region)
      issue(
        ['iam', 'region'],
        'is required when host is not a Redshift Serverless endpoint (<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com): e.g. us-east-1',
      );
    for (const field of ['db_user', 'auto_create'] as const)
      if (wh.iam[field] !== undefined)
        issue(['iam', field], 'is for provisioned clusters only: Serverless logs in as the IAM identity');
    return;
  }
  if (!target.clusterId)
    issue(
      ['iam', 'cluster_id'],
      'is required when host is not a Redshift endpoint (<cluster>.<id>.<region>.redshift.amazonaws.com): the cluster identifier (or warehouse.iam.workgroup for Redshift Serverless)',
    );
  if (!target.region)
    issue(
      ['iam', 'region'],
      'is required when host is not a Redshift endpoint (<cluster>.<id>.<region>.redshift.amazonaws.com): e.g. us-east-1',
    );
  if (wh.iam.identity === 'db_user' && !wh.iam.db_user && !wh.user && !urlUser(wh.url))
    issue(
      ['iam', 'db_user'],
      'is required (or warehouse.user): the database user the temporary password is for',
    );
});

export function urlUser(url: string | undefined): string | undefined {
  try {
    return url ? decodeURIComponent(new URL(url).username) || undefined : undefined;
  } catch {
    return undefined;
  }
}

export const bigqueryWarehouseSchema = z.strictObject({
  type: z.literal('bigquery'),
  project: z.string(),
  location: z.string().optional(),
  /** Path of a service-account key file; otherwise Application Default Credentials. */
  key_file: z.string().optional(),
  /** Override of the API endpoint (tests point it at the local BigQuery sandbox). */
  api_endpoint: z.string().optional(),
  maximum_bytes_billed: z.number().int().optional(),
});

export const snowflakeWarehouseSchema = z
  .strictObject({
    type: z.literal('snowflake'),
    account: z.string(),
    username: z.string(),
    password: z.string().optional(),
    private_key_path: z.string().optional(),
    /** The private key's PEM text itself (from an env var), instead of private_key_path. */
    private_key: z.string().optional(),
    private_key_passphrase: z.string().optional(),
    /** `OAUTH`: log in with an OAuth access token (`token`) instead of a password or key pair. */
    authenticator: z.enum(['OAUTH']).optional(),
    /** The OAuth access token (from an env var), with `authenticator: OAUTH`. */
    token: z.string().optional(),
    warehouse: z.string().optional(),
    database: z.string(),
    /** The session's schema; the temporary tables of `plan` and `evaluate` are created in it. */
    schema: z.string().optional(),
    role: z.string().optional(),
    /** Override of the access URL (tests point it at the local Snowflake sandbox). */
    access_url: z.string().optional(),
  })
  .superRefine((wh, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (wh.schema === undefined)
      issue(
        'schema',
        'is required: pqlsync creates its temporary tables (plan, evaluate) in this schema, and Snowflake refuses unqualified ones in a session without a current schema (e.g. schema: PUBLIC)',
      );
    const given = (['password', 'private_key_path', 'private_key', 'token'] as const).filter(
      (k) => wh[k] !== undefined,
    );
    if (wh.authenticator === 'OAUTH' && wh.token === undefined)
      issue(
        'token',
        'is required with authenticator: OAUTH (the access token, e.g. token: "${SNOWFLAKE_OAUTH_TOKEN}")',
      );
    else if (wh.token !== undefined && wh.authenticator !== 'OAUTH')
      issue('authenticator', 'must be OAUTH when a token is given');
    if (given.length === 0)
      issue(
        'password',
        'no credentials: give one of password, private_key_path, private_key (PEM text) or authenticator: OAUTH with token',
      );
    else if (given.length > 1) issue(given[1]!, `give only one of ${given.join(', ')}`);
  });

export const warehouseSchema = z.discriminatedUnion('type', [
  duckdbWarehouseSchema,
  postgresWarehouseSchema,
  bigqueryWarehouseSchema,
  snowflakeWarehouseSchema,
]);
export type WarehouseConfig = z.infer<typeof warehouseSchema>;

const retrySchema = z.strictObject({
  max_attempts: z.number().int().min(1).max(20).default(5),
  initial_delay_ms: z.number().int().min(0).default(500),
  max_delay_ms: z.number().int().min(0).default(30_000),
});

export const salesforceAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('access_token'), access_token: z.string() }),
  z.strictObject({
    type: z.literal('refresh_token'),
    client_id: z.string(),
    client_secret: z.string().optional(),
    refresh_token: z.string(),
    access_token: z.string().optional(),
    login_url: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('jwt'),
    client_id: z.string(),
    username: z.string(),
    private_key: z.string().optional().describe('PEM text; prefer private_key_path'),
    private_key_path: z.string().optional(),
    login_url: z.string().optional(),
    audience: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('client_credentials'),
    client_id: z.string(),
    client_secret: z.string(),
    login_url: z.string().optional(),
  }),
]);

export const salesforceDestinationSchema = z.strictObject({
  type: z.literal('salesforce'),
  instance_url: z.string().url(),
  /** Salesforce REST API version. (Default: 62.0) */
  api_version: z
    .string()
    .regex(/^\d{2}\.0$/, "must look like '62.0'")
    .default('62.0'),
  auth: salesforceAuthSchema,
  /** Change sets larger than this go through Bulk API 2.0. (Default: 2000) */
  bulk_threshold: z.number().int().min(1).default(2000),
  /** Let Salesforce assignment rules run on created records (sends Sforce-Auto-Assign: TRUE). (Default: false) */
  assignment_rules: z.boolean().default(false),
  /** Give up on (and abort) a Bulk API 2.0 job that has not finished after this many milliseconds. (Default: 600000) */
  bulk_poll_timeout_ms: z.number().int().min(1000).default(600_000),
  /**
   * `pqlsync pull`: an object with more changed records than this since its watermark is read with one Bulk API
   * 2.0 query job instead of SOQL + queryMore. (Default: 10000)
   */
  pull_bulk_threshold: z.number().int().min(1).default(10_000),
  /**
   * Sent for a mapped field Salesforce requires on create (Lead LastName and Company, Account Name) when a new row
   * has no value, as Salesforce's Web-to-Lead does; null sends nothing and Salesforce rejects the record.
   * (Default: '[not provided]')
   */
  required_placeholder: z.string().min(1).nullable().default('[not provided]'),
  /**
   * Milliseconds one request waits for the CRM's answer to start before it counts as unanswered (retried as a
   * transport failure; see the circuit breaker in the README). (Default: 120000)
   */
  request_timeout_ms: z.number().int().min(100).max(3_600_000).default(120_000),
  retry: retrySchema.optional(),
});

/** A HubSpot property pqlsync may create (`destinations.<name>.properties.<object>.<property>`). */
export const hubspotPropertySchema = z.strictObject({
  type: z.enum(['string', 'number', 'date', 'datetime', 'enumeration', 'bool']),
  /** HubSpot's fieldType. (Default: text, number, date, select or booleancheckbox, by type) */
  field_type: z.string().optional(),
  /** (Default: the name in words, e.g. `PQL score`) */
  label: z.string().optional(),
  /** Allowed values of an enumeration. */
  options: z.array(z.string()).optional(),
  /** hasUniqueValue: required for a match property; cannot be changed after creation. (Default: false) */
  unique: z.boolean().optional(),
  description: z.string().optional(),
});

export const hubspotDestinationSchema = z.strictObject({
  type: z.literal('hubspot'),
  access_token: z.string(),
  /** API base URL; the sandbox's URL in tests. (Default: https://api.hubapi.com) */
  base_url: z.string().url().optional(),
  /** Requests allowed per rolling window: 100 / 10 s (Free, Starter), 190 (Pro, Enterprise). (Default: 100) */
  rate_limit: z
    .strictObject({
      requests: z.number().int().min(1).default(100),
      per_ms: z.number().int().min(100).default(10_000),
    })
    .optional(),
  /** Create missing properties (in `property_group`) during preflight. (Default: false) */
  create_properties: z.boolean().default(false),
  /** Property group that created properties go in. (Default: pqlsync) */
  property_group: z.string().default('pqlsync'),
  /**
   * Definitions of properties to create, per object type (`contacts: { plan: { type: enumeration, options: [free, pro] } }`).
   * Unlisted PQL names (`pql_score`, `pql_tier`, `product_user_id`, ...) follow pqlsync's conventions; others
   * become text properties. (Default: none)
   */
  properties: z.record(z.string(), z.record(z.string(), hubspotPropertySchema)).optional(),
  /**
   * Milliseconds one request waits for the CRM's answer to start before it counts as unanswered (retried as a
   * transport failure; see the circuit breaker in the README). (Default: 120000)
   */
  request_timeout_ms: z.number().int().min(100).max(3_600_000).default(120_000),
  retry: retrySchema.optional(),
});

export const fileDestinationSchema = z.strictObject({
  type: z.literal('file'),
  /** Directory that receives one JSONL file of change records per run, relative to the project. (Default: `output`) */
  path: z.string().default('output'),
  /** Change records per write (and per commit). (Default: 1000) */
  batch_size: z.number().int().min(1).max(100_000).default(1000),
});

export const destinationSchema = z.discriminatedUnion('type', [
  salesforceDestinationSchema,
  hubspotDestinationSchema,
  fileDestinationSchema,
]);
export type DestinationConfig = z.infer<typeof destinationSchema>;

/** A mapped field: `destination_field: model_column` or with options. */
export const fieldMappingSchema = z.union([
  z.string(),
  z.strictObject({
    column: z.string(),
    /** Don't overwrite a value in the CRM with null; the field is left out when the model says null. */
    skip_null: z.boolean().default(false),
    /** The value written to this field when the row leaves the model in mirror mode. (Default: null) */
    cleared_value: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
  }),
]);

/** A duration: a number and a unit, `30m`, `4h`, `2d`. */
export const durationSchema = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(m|h|d)$/, "must be a number and a unit m, h or d, e.g. '30m', '4h', '2d'");

export const TASK_PRIORITIES = ['high', 'normal', 'low'] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

export const ASSIGN_STRATEGIES = ['existing_owner', 'account_owner', 'round_robin', 'fixed'] as const;
export type AssignStrategy = (typeof ASSIGN_STRATEGIES)[number];

/** A scalar a rule condition compares a model column with. */
const conditionValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** One column's condition in a rule's `when`: a value (equals) or comparison operators, all of which must hold. */
export const routingConditionSchema = z.union([
  conditionValue,
  z
    .strictObject({
      eq: conditionValue.optional(),
      ne: conditionValue.optional(),
      gt: z.number().optional(),
      gte: z.number().optional(),
      lt: z.number().optional(),
      lte: z.number().optional(),
      in: z.array(conditionValue).optional(),
      not_in: z.array(conditionValue).optional(),
    })
    .refine(
      (o) => Object.keys(o).length > 0,
      'name at least one operator: eq, ne, gt, gte, lt, lte, in, not_in',
    ),
]);

/** An owner in the config: a CRM id (HubSpot ids are numbers, so unquoted YAML works) or an email. */
const ownerRef = z.union([z.string(), z.number().int()]).transform(String);

/** How a rule picks the task's owner. */
export const routingAssignSchema = z.strictObject({
  /**
   * `existing_owner`: the record's owner in the CRM; `account_owner`: the owner of the record's account
   * (`routing.account`), else the record's owner; `round_robin`: the next active owner of `pool`;
   * `fixed`: `owner`. (Default: existing_owner)
   */
  strategy: z.enum(ASSIGN_STRATEGIES).default('existing_owner'),
  /** round_robin: owners (CRM user/owner ids or emails) taken in turn; inactive ones are skipped. */
  pool: z.array(ownerRef).min(1).optional(),
  /** fixed: the owner (CRM user/owner id or email). */
  owner: ownerRef.optional(),
});

/** The SLA of a tier's tasks. */
export const routingSlaSchema = z.strictObject({
  /** Due this long after the transition is routed: `1h`, `4h`, `2d`. */
  due_in: durationSchema,
  /** The reminder fires this long after routing. (Default: at the due time) */
  reminder_in: durationSchema.optional(),
  /** (Default: normal) */
  priority: z.enum(TASK_PRIORITIES).default('normal'),
});

/** A routing rule: the first rule whose `when` holds decides owner and task. */
export const routingRuleSchema = z.strictObject({
  /** Named in plans, logs and task_log. (Default: `rule <n>`) */
  name: z.string().optional(),
  /** model column → condition; every condition must hold. (Default: always) */
  when: z.record(z.string(), routingConditionSchema).default({}),
  /** (Default: `{strategy: existing_owner}`) */
  assign: routingAssignSchema.default({ strategy: 'existing_owner' }),
  /** Also make the chosen owner the record's owner (Lead/Contact OwnerId, `hubspot_owner_id`). (Default: false) */
  set_owner: z.boolean().default(false),
  /** Create a task; `false` syncs fields only. (Default: true) */
  task: z.boolean().default(true),
  /**
   * Fields to write on the record (the person) when this rule routes it, e.g. a nurture flag or lifecycle stage for
   * a self-serve route with `task: false`. (Default: none)
   */
  set: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  /** This rule's SLA per tier, replacing `routing.sla` for its tasks (e.g. a shorter one for enterprise). (Default: routing.sla) */
  sla: z.record(z.string(), routingSlaSchema).optional(),
  /** Post this rule's new tasks to the alerts webhook (`alerts`). (Default: false) */
  alert: z.boolean().default(false),
});

/** A tier: a named band of scores (highest first), or a value of the model's tier column. */
export const routingTierSchema = z.strictObject({
  name: z.string().min(1),
  /**
   * Scores >= this fall in the tier (when no higher tier takes them): a number, or the name of a model param whose
   * value (default, sync params or `--vars`) is the bound, so tasks move with the model's own tier column.
   * (Default: none: the lowest tier)
   */
  min_score: z
    .union([z.number(), z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a number or a param name')])
    .optional(),
});

export const DEFAULT_TIERS = [
  { name: 'hot', min_score: 70 },
  { name: 'pql', min_score: 40 },
  { name: 'nurture' },
] as const;

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** True when Intl knows the IANA time zone. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A business calendar: SLAs count working time only (see src/routing/calendar.ts). */
export const calendarSchema = z.strictObject({
  /** IANA time zone of the hours. (Default: the sync's `timezone`, else the scheduler's, else UTC) */
  time_zone: z
    .string()
    .refine(isTimeZone, {
      error: (issue) => `'${String(issue.input)}' is not an IANA time zone (e.g. Europe/Berlin)`,
    })
    .optional(),
  /** Working days. (Default: [mon, tue, wed, thu, fri]) */
  days: z.array(z.enum(WEEKDAYS)).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri']),
  /** Working hours of a working day, `HH:MM-HH:MM` in the time zone. (Default: 09:00-17:00) */
  hours: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, "must be 'HH:MM-HH:MM', e.g. '09:00-17:00'")
    .refine((h) => h.slice(0, 5) < h.slice(6), 'the hours must end after they start, e.g. 09:00-17:00')
    .default('09:00-17:00'),
  /** Dates (`YYYY-MM-DD`) that are not working days. (Default: none) */
  holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date 'YYYY-MM-DD'")).default([]),
});
export type CalendarConfig = z.infer<typeof calendarSchema>;

/** How tasks relate to accounts (see docs/readme/routing.md, "Account-aware routing"). */
export const routingAccountSchema = z.strictObject({
  /** Model column with the account's match value (e.g. account_id). */
  column: z.string(),
  /** The account's external-id field in the CRM (`Product_Account_Id__c`, HubSpot `product_account_id`). */
  field: z.string(),
  /**
   * `per_user`: one task per user entering a task tier; `per_account`: one owner per account and at most one task
   * per account per tier entry, linked to the account and listing its top qualified users. (Default: per_user)
   */
  tasks: z.enum(['per_user', 'per_account']).default('per_user'),
  /** per_account: users listed in the account's task, highest score first. (Default: 5) */
  users_listed: z.number().int().min(1).max(50).default(5),
  /**
   * CRM owners that never count as an account's owner (the integration user that created the accounts); such an
   * account gets an owner from its rule, kept in state. (Default: none)
   */
  ignore_owners: z.array(ownerRef).default([]),
  /**
   * per_account: the sync that writes the accounts (e.g. pqa_accounts); the values it last synced for an account
   * are rule columns and template values named `account_<field>` (e.g. `account_PQA_Tier__c`). (Default: none)
   */
  sync: z.string().optional(),
});

/**
 * Routing of a sync: tiers, which transitions create tasks, rules choosing owners, SLAs and task text
 * (see docs/readme/routing.md).
 */
export const routingSchema = z
  .strictObject({
    /** Tiers from highest to lowest. (Default: hot >= 70, pql >= 40, nurture) */
    tiers: z
      .array(routingTierSchema)
      .min(1)
      .default(DEFAULT_TIERS.map((t) => ({ ...t }))),
    /** Model column holding the score the tier bands read. (Default: score) */
    score_column: z.string().default('score'),
    /** Model column holding the tier itself (values are tier names); replaces the score bands. (Default: none) */
    tier_column: z.string().optional(),
    /** Entering one of these tiers from a lower tier (or none) creates a task; moving down never does. (Default: [hot, pql]) */
    task_tiers: z.array(z.string()).default(['hot', 'pql']),
    /** At most one task per record per tier within this many days; re-entry after it gets a new task. (Default: 30) */
    cooldown_days: z.number().int().min(1).max(3650).default(30),
    /** Per-tier SLA. (Default: hot due in 1h, high; pql due in 4h, normal) */
    sla: z.record(z.string(), routingSlaSchema).default({
      hot: { due_in: '1h', priority: 'high' },
      pql: { due_in: '4h', priority: 'normal' },
    }),
    /** Rules in order; the first match wins. (Default: one rule keeping the existing owner) */
    rules: z.array(routingRuleSchema).default([]),
    /**
     * The record's account, for `account_owner` and for relating tasks: the model column with the account's
     * match value and the account's external-id field (`Product_Account_Id__c`, HubSpot `product_account_id`).
     * (Default: none)
     */
    account: routingAccountSchema.optional(),
    /** Business hours for SLAs: due times and reminders count only working time. (Default: clock hours) */
    calendar: calendarSchema.optional(),
    /** Task text: `{{ column }}` placeholders over the model row, plus `tier`, `previous_tier`, `key`, `due_date`. */
    task: z
      .strictObject({
        /** (Default: `{{ tier }} PQL: {{ key }}`) */
        subject: z.string().default('{{ tier }} PQL: {{ key }}'),
        /** (Default: every model column as `column: value`, one per line) */
        body: z.string().optional(),
        /**
         * per_account: the line of each listed user in `{{ users }}`, over that user's model row, `tier` and `key`.
         * (Default: `- {{ key }} ({{ tier }})`)
         */
        user_line: z.string().optional(),
      })
      .default({ subject: '{{ tier }} PQL: {{ key }}' }),
  })
  .superRefine((r, ctx) => {
    const names = r.tiers.map((t) => t.name);
    const known = `tiers: ${names.join(', ')}`;
    r.tiers.forEach((t, i) => {
      if (names.indexOf(t.name) !== i)
        ctx.addIssue({
          code: 'custom',
          path: ['tiers', i, 'name'],
          message: `tier '${t.name}' is named twice`,
        });
      if (!r.tier_column && i < r.tiers.length - 1 && t.min_score === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['tiers', i, 'min_score'],
          message: `tier '${t.name}' needs min_score (only the lowest tier may leave it out), or set tier_column`,
        });
      }
      const next = r.tiers[i + 1];
      // Bands named by params are ordered once their values are known (at compile, see modelScoreBands).
      if (
        typeof t.min_score === 'number' &&
        typeof next?.min_score === 'number' &&
        next.min_score >= t.min_score
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['tiers', i + 1, 'min_score'],
          message: `tiers go from highest to lowest: '${next.name}' (${next.min_score}) must be below '${t.name}' (${t.min_score})`,
        });
      }
    });
    r.task_tiers.forEach((t, i) => {
      if (!names.includes(t))
        ctx.addIssue({ code: 'custom', path: ['task_tiers', i], message: `'${t}' is not a tier (${known})` });
      else if (!r.sla[t])
        ctx.addIssue({
          code: 'custom',
          path: ['sla'],
          message: `task tier '${t}' has no sla (e.g. ${t}: { due_in: 4h, priority: normal })`,
        });
    });
    for (const t of Object.keys(r.sla)) {
      if (!names.includes(t))
        ctx.addIssue({ code: 'custom', path: ['sla', t], message: `'${t}' is not a tier (${known})` });
    }
    r.rules.forEach((rule, i) => {
      const a = rule.assign;
      if (a.strategy === 'round_robin' && !a.pool)
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'assign', 'pool'],
          message: 'round_robin needs a pool of owners (ids or emails)',
        });
      if (a.strategy === 'fixed' && !a.owner)
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'assign', 'owner'],
          message: 'fixed needs an owner (id or email)',
        });
      for (const t of Object.keys(rule.sla ?? {})) {
        if (!names.includes(t))
          ctx.addIssue({
            code: 'custom',
            path: ['rules', i, 'sla', t],
            message: `'${t}' is not a tier (${known})`,
          });
      }
      if (a.strategy === 'account_owner' && !r.account)
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'assign', 'strategy'],
          message: 'account_owner needs routing.account: { column, field }',
        });
    });
  });
export type RoutingConfig = z.infer<typeof routingSchema>;

export const syncSchema = z.strictObject({
  model: z.string(),
  description: z.string().optional(),
  /** Values for the model's params; `--vars` overrides them. */
  params: z.record(z.string(), z.unknown()).default({}),
  destination: z.string(),
  /** The destination object: Lead, Contact, Account (Salesforce); contacts, companies (HubSpot); any name for file. */
  object: z.string(),
  /** How rows find their record: the destination's external-id field and the model column holding it. */
  match: z.strictObject({
    field: z.string(),
    /** (Default: the model's key) */
    column: z.string().optional(),
  }),
  mode: z.enum(SYNC_MODES).default('upsert'),
  /** destination field → model column. Only these columns are hashed and sent. */
  fields: z.record(z.string(), fieldMappingSchema),
  /** Mirror mode: refuse a run that would remove more than this share of the snapshot. (Default: 20) */
  max_removed_pct: z.number().min(0).max(100).default(20),
  /**
   * Warn (and alert) when more than this share (0..1) of the model's rows is flagged: in a routing task tier, else
   * the model's is_pql / is_pqa column; `run --fail-on-flag-rate` exits 3. (Default: 0.4)
   */
  max_flag_rate: z.number().min(0).max(1).default(0.4),
  /** Fields the mirror mode sets when a row leaves the model (e.g. `Is_PQL__c: false`), besides clearing mapped fields. */
  on_remove: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  /** Skip rows that failed this many times until their values change. (Default: unlimited) */
  max_attempts: z.number().int().min(1).optional(),
  /** Routing: tiers, tasks and owners (see the routing section of the README). (Default: none) */
  routing: routingSchema.optional(),
  /** Cron expression for `pqlsync schedule`. */
  schedule: z.string().optional(),
  timezone: z.string().optional(),
  depends_on: z.array(z.string()).default([]),
  /** After each run that did not fail, read the CRM back (`pqlsync pull` for this sync's destination). (Default: false) */
  read_back: z.boolean().default(false),
  enabled: z.boolean().default(true),
});
export type SyncConfig = z.infer<typeof syncSchema>;

/** Settings of `pqlsync schedule` (the built-in daemon). */
export const schedulerSchema = z.strictObject({
  /** Syncs that may run at the same time in one daemon. (Default: 2) */
  max_concurrent_syncs: z.number().int().min(1).default(2),
  /** Seconds a run's lock lasts without a heartbeat; a dead holder's lock is taken over after it. (Default: 60) */
  lock_lease_seconds: z.number().int().min(5).default(60),
  /**
   * On SIGTERM/SIGINT, seconds to let running batches finish and commit before exiting; `pqlsync run` then stops
   * waiting for the CRM and ends the run `failed` (exit 1). (Default: 60)
   */
  shutdown_grace_seconds: z.number().int().min(1).default(60),
  /** IANA time zone for every sync's `schedule` that sets no `timezone`. (Default: UTC) */
  timezone: z.string().default('UTC'),
});
export type SchedulerConfig = z.infer<typeof schedulerSchema>;

/**
 * Alerts to a Slack incoming webhook (any endpoint that accepts `{"text": ...}` JSON). A failed post is logged
 * and never fails a run.
 */
export const alertsSchema = z.strictObject({
  /** The webhook URL; put it in an env var: `webhook_url: ${PQLSYNC_ALERT_WEBHOOK}`. */
  webhook_url: z.string().url(),
  /** Post when a run fails. (Default: true) */
  on_failure: z.boolean().default(true),
  /** Post when more than this share (%) of the records a run sent was rejected. (Default: 5) */
  rejected_pct: z.number().min(0).max(100).default(5),
  /** Post the records whose tier became `hot_tier` in a run (immediate notification of hot PQLs). (Default: true) */
  hot_pqls: z.boolean().default(true),
  /** The tier value that counts as hot. (Default: hot) */
  hot_tier: z.string().default('hot'),
  /** At most this many hot records are listed in one message; the rest are counted. (Default: 20) */
  max_listed: z.number().int().min(1).max(100).default(20),
  /** Give up on a post after this many milliseconds. (Default: 5000) */
  timeout_ms: z.number().int().min(100).max(60_000).default(5000),
});
export type AlertsConfig = z.infer<typeof alertsSchema>;

export const projectConfigSchema = z.strictObject({
  version: z.literal(1).default(1),
  warehouse: warehouseSchema.default({
    type: 'duckdb',
    path: 'pqlsync.duckdb',
    stream_memory_limit: DEFAULT_STREAM_MEMORY_LIMIT,
  }),
  state: z
    .strictObject({
      /** Schema (BigQuery: dataset) that holds snapshots, failures, runs and locks. (Default: pqlsync_state) */
      schema: z.string().regex(identifierPart).default('pqlsync_state'),
    })
    .default({ schema: 'pqlsync_state' }),
  /** Directory of model files, relative to the project. (Default: models) */
  models_dir: z.string().default('models'),
  destinations: z.record(z.string(), destinationSchema).default({}),
  syncs: z.record(syncName, syncSchema).default({}),
  /** Settings of `pqlsync schedule`. */
  scheduler: schedulerSchema.optional(),
  /** Alerts: a Slack-compatible incoming webhook (URL from env), on failures, rejections and new hot PQLs. */
  alerts: alertsSchema.optional(),
});
export type ProjectConfig = z.infer<typeof projectConfigSchema>;
