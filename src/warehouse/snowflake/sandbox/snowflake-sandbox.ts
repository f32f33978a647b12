/**
 * A local Snowflake endpoint backed by in-memory DuckDB, for driving the real snowflake-sdk in tests
 * (warehouses.md §2.2): login-request (password, or key-pair JWT checked against a public key), query-request
 * with `:N`/`?` binds and JSON results, telemetry, session delete. Results always come inline as JSON (the Node
 * driver has no Arrow decoder).
 *
 * It proves the driver wiring and the shape of the SQL we send, not Snowflake's SQL semantics: statements are
 * translated by `translateSnowflakeSql` and run on DuckDB.
 */
import { createPublicKey, randomUUID, verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonBody } from '../../sandbox/local-server.js';
import { EngineSandbox } from '../../sandbox/engine-sandbox.js';
import { DuckdbEngine, type EngineCell, type EngineColumn } from '../../sandbox/duckdb-engine.js';
import { lexSql } from '../../../model/sql-lexer.js';
import { translateSnowflakeSql, type SnowflakeBind } from './snowflake-sql.js';

export interface SnowflakeSandboxOptions {
  username?: string;
  /** Password for the SNOWFLAKE authenticator. (Default: `sandbox-password`) */
  password?: string;
  /** PEM public key that SNOWFLAKE_JWT logins must be signed for. (Default: key-pair login refused) */
  publicKeyPem?: string;
  /** The access token OAUTH logins must carry. (Default: OAuth login refused) */
  oauthToken?: string;
  /**
   * The user's DEFAULT_NAMESPACE schema, the session's current schema when the login names none. A session's
   * current schema is a schema that exists (the sandbox's database has PUBLIC, as every Snowflake database does).
   * (Default: none)
   */
  defaultSchema?: string;
  /**
   * The account's MULTI_STATEMENT_COUNT, used when a request does not set it: 1 allows one statement, 0 any
   * number, N exactly N (Snowflake's default is 1). (Default: 1)
   */
  multiStatementCount?: number;
  port?: number;
}

export interface SnowflakeRequestLog {
  path: string;
  sqlText?: string;
  bindings?: Record<string, SnowflakeBind>;
  success: boolean;
}

const SF_TYPES: Record<EngineColumn['kind'], string> = {
  integer: 'fixed',
  float: 'real',
  decimal: 'fixed',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp_tz',
  text: 'text',
  list: 'text',
};

/**
 * Snowflake's TO_CHAR (for dates and timestamps, with the format elements the row hash uses) and
 * CONVERT_TIMEZONE(target, timestamp).
 */
const SNOWFLAKE_MACROS = [
  `create macro to_char(x, f) as strftime(x, replace(replace(replace(replace(replace(replace(replace(replace(replace(f,
     '"T"', 'T'), '"Z"', 'Z'), 'YYYY', '%Y'), 'MM', '%m'), 'DD', '%d'), 'HH24', '%H'), 'MI', '%M'), 'SS', '%S'), 'FF6', '%f'))`,
  `create macro convert_timezone(tz, x) as timezone(tz, cast(x as timestamptz))`,
];

export class SnowflakeSandbox extends EngineSandbox {
  readonly requests: SnowflakeRequestLog[] = [];
  /** Session token → the session's current schema (null: none). */
  private readonly tokens = new Map<string, string | null>();
  private readonly publicKey: KeyObject | undefined;
  constructor(private readonly options: SnowflakeSandboxOptions = {}) {
    super(options.port);
    this.publicKey = options.publicKeyPem ? createPublicKey(options.publicKeyPem) : undefined;
  }

  /** The SQL statements received, in order. */
  statements(): string[] {
    return this.requests.filter((r) => r.sqlText !== undefined).map((r) => r.sqlText!);
  }

  protected override setupSql(): string[] {
    return [...SNOWFLAKE_MACROS, 'create schema "PUBLIC"'];
  }

  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const entry: SnowflakeRequestLog = { path: url.pathname, success: true };
    this.requests.push(entry);
    const send = (body: Record<string, unknown>) => {
      entry.success = body.success === true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const body = await readJsonBody(req);
      if (url.pathname === '/session/v1/login-request') {
        return send(await this.login(body, url.searchParams.get('schemaName')));
      }
      const auth = /^Snowflake Token="([^"]+)"$/.exec(req.headers.authorization ?? '');
      if (!auth || !this.tokens.has(auth[1]!)) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            success: false,
            code: '390104',
            message: 'Authentication token has expired or is invalid.',
          }),
        );
        return;
      }
      if (url.pathname === '/queries/v1/query-request') {
        return send(await this.query(body, entry, this.tokens.get(auth[1]!) ?? null));
      }
      if (url.pathname === '/session' && url.searchParams.get('delete') === 'true') {
        this.tokens.delete(auth[1]!);
        return send({ success: true, code: null, data: null });
      }
      if (url.pathname === '/telemetry/send' || url.pathname === '/session/heartbeat') {
        return send({ success: true, code: null, data: null });
      }
      send({
        success: false,
        code: '000404',
        message: `the Snowflake sandbox does not serve ${url.pathname}`,
        data: null,
      });
    } catch (err) {
      send({
        success: false,
        code: '000603',
        message: err instanceof Error ? err.message : String(err),
        data: null,
      });
    }
  }

  private async login(
    body: Record<string, unknown>,
    schemaName: string | null,
  ): Promise<Record<string, unknown>> {
    const data = (body.data ?? {}) as Record<string, unknown>;
    const user = String(data.LOGIN_NAME ?? '');
    const authenticator = String(data.AUTHENTICATOR ?? 'SNOWFLAKE').toUpperCase();
    const wantUser = this.options.username ?? 'sandbox_user';
    let ok = user.toUpperCase() === wantUser.toUpperCase();
    if (authenticator === 'SNOWFLAKE_JWT') ok = ok && this.jwtValid(String(data.TOKEN ?? ''));
    // An OAuth access token names its user itself; the driver sends no LOGIN_NAME check of its own.
    else if (authenticator === 'OAUTH')
      ok = this.options.oauthToken !== undefined && data.TOKEN === this.options.oauthToken;
    else ok = ok && data.PASSWORD === (this.options.password ?? 'sandbox-password');
    if (!ok) {
      return {
        success: false,
        code: '390100',
        message: 'Incorrect username or password was specified.',
        data: null,
      };
    }
    const token = randomUUID();
    // A login's schema that does not exist leaves the session without a current schema, as in Snowflake.
    const schema = await this.existingSchema(schemaName ?? this.options.defaultSchema);
    this.tokens.set(token, schema);
    return {
      success: true,
      code: null,
      message: null,
      data: {
        token,
        masterToken: randomUUID(),
        validityInSeconds: 3600,
        masterValidityInSeconds: 14400,
        sessionId: Date.now(),
        parameters: [{ name: 'TIMEZONE', value: 'UTC' }],
        sessionInfo: {
          databaseName: 'SANDBOX',
          schemaName: schema,
          warehouseName: 'SANDBOX_WH',
          roleName: 'PUBLIC',
        },
      },
    };
  }

  /** The schema as Snowflake stores it (a plain name upper case), when it exists; else null. */
  private async existingSchema(name: string | undefined): Promise<string | null> {
    if (!name) return null;
    const stored = /^"(.*)"$/.exec(name)?.[1]?.replace(/""/g, '"') ?? name.toUpperCase();
    const { rows } = await this.db().run(
      'select schema_name from information_schema.schemata where lower(schema_name) = lower($name)',
      { name: stored },
    );
    return rows.length > 0 ? stored : null;
  }

  /** An RS256 JWT signed by the private half of `publicKeyPem`, not expired. */
  private jwtValid(jwt: string): boolean {
    const parts = jwt.split('.');
    if (!this.publicKey || parts.length !== 3) return false;
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!verify('RSA-SHA256', signed, this.publicKey, Buffer.from(parts[2]!, 'base64url'))) return false;
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: number };
    return typeof claims.exp === 'number' && claims.exp * 1000 > Date.now();
  }

  private async query(
    body: Record<string, unknown>,
    entry: SnowflakeRequestLog,
    currentSchema: string | null,
  ): Promise<Record<string, unknown>> {
    const sqlText = String(body.sqlText ?? '');
    const bindings = (body.bindings ?? {}) as Record<string, SnowflakeBind>;
    entry.sqlText = sqlText;
    if (Object.keys(bindings).length > 0) entry.bindings = bindings;
    const queryId = randomUUID();
    const parameters = (body.parameters ?? {}) as Record<string, unknown>;
    const desired = Number(parameters.MULTI_STATEMENT_COUNT ?? this.options.multiStatementCount ?? 1);
    const count = lexSql(sqlText, 'snowflake').separators.length + 1;
    if (desired !== 0 && count !== desired) {
      // Snowflake checks the count before running anything (error 000008, SQLSTATE 0A000).
      return {
        success: false,
        code: '000008',
        message: `Actual statement count ${count} did not match the desired statement count ${desired}.`,
        data: { errorCode: '000008', sqlState: '0A000', queryId },
      };
    }
    const unqualified = currentSchema === null ? unqualifiedCreate(sqlText) : undefined;
    if (unqualified) {
      // Snowflake resolves an unqualified name in the current schema; a session without one cannot create it
      // (https://docs.snowflake.com/en/sql-reference/sql/use-schema, https://docs.snowflake.com/en/sql-reference/name-resolution).
      return {
        success: false,
        code: '090106',
        message: `Cannot perform ${unqualified}. This session does not have a current schema. Call 'USE SCHEMA', or use a qualified name.`,
        data: { errorCode: '090106', sqlState: '22000', queryId },
      };
    }
    let translated: ReturnType<typeof translateSnowflakeSql>;
    try {
      translated = translateSnowflakeSql(sqlText, bindings);
    } catch (err) {
      return sqlError(err, queryId);
    }
    try {
      const result = await this.db().run(translated.sql, translated.values);
      const isSelect = result.columns.length > 0;
      const columns = isSelect ? result.columns : [{ name: 'status', kind: 'text' as const }];
      const rowset = isSelect
        ? result.rows.map((r) => r.map((v, i) => wire(v, columns[i]!)))
        : [['Statement executed successfully.']];
      return {
        success: true,
        code: null,
        message: null,
        data: {
          parameters: [{ name: 'TIMEZONE', value: 'UTC' }],
          rowtype: columns.map((c) => ({
            name: c.name,
            type: SF_TYPES[c.kind],
            precision: c.kind === 'integer' ? 38 : (c.precision ?? null),
            scale: c.kind === 'timestamp' ? 6 : c.kind === 'integer' ? 0 : (c.scale ?? null),
            nullable: true,
            length: c.kind === 'text' ? 16777216 : null,
            byteLength: c.kind === 'text' ? 16777216 : null,
            database: '',
            schema: '',
            table: '',
            collation: null,
          })),
          rowset,
          total: rowset.length,
          returned: rowset.length,
          queryId,
          queryResultFormat: 'json',
          statementTypeId: 4096,
          version: 1,
          sendResultTime: Date.now(),
          finalDatabaseName: 'SANDBOX',
          finalSchemaName: currentSchema,
        },
      };
    } catch (err) {
      return sqlError(err, queryId);
    }
  }

  private db(): DuckdbEngine {
    if (!this.engine) throw new Error('sandbox stopped');
    return this.engine;
  }
}

/**
 * `CREATE TEMPTABLE` or `CREATE TABLE` when the statement creates a table by a one-part name (which needs a
 * current schema); else undefined.
 */
export function unqualifiedCreate(sql: string): string | undefined {
  const m =
    /^\s*create\s+(?:or\s+replace\s+)?(?:(local|global)\s+)?(temp|temporary|volatile|transient)?\s*table\s+(?:if\s+not\s+exists\s+)?("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*(\.)?/i.exec(
      sql,
    );
  if (!m || m[4]) return undefined;
  return m[2] && m[2].toLowerCase() !== 'transient' ? 'CREATE TEMPTABLE' : 'CREATE TABLE';
}

/** A cell as Snowflake's JSON result carries it: dates as epoch days, timestamp_tz as `seconds.fraction tz`. */
function wire(v: EngineCell, c: EngineColumn): EngineCell {
  if (v === null || Array.isArray(v)) return Array.isArray(v) ? JSON.stringify(v) : null;
  if (c.kind === 'date') return String(Math.round(Date.parse(`${v}T00:00:00Z`) / 86_400_000));
  if (c.kind === 'timestamp') {
    // A decimal number of seconds (the driver reads it with BigNumber), then the zone index (1440 = UTC).
    const micros = BigInt(v);
    const abs = micros < 0n ? -micros : micros;
    const text = `${micros < 0n ? '-' : ''}${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, '0')}`;
    return `${text} 1440`;
  }
  return v;
}

function sqlError(err: unknown, queryId: string): Record<string, unknown> {
  const message = err instanceof Error ? err.message : String(err);
  return {
    success: false,
    code: '002003',
    message: `SQL compilation error: ${message}`,
    data: { errorCode: '002003', sqlState: '42000', queryId },
  };
}
