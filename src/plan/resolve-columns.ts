/**
 * Resolves every model column a sync's config names (the key, mapped fields, the match column, routing's score,
 * tier, rule and account columns, task-template placeholders) against the columns the model really returns,
 * once, before anything runs: the exact name first, then the one name that matches ignoring case. A name that
 * matches none, or several only by case, is a config error (exit 2) naming the column, the model and the columns
 * it returns.
 *
 * Why: warehouses spell result columns their own way (Snowflake upper-cases unquoted names, Redshift folds them
 * to lower case, DuckDB and Postgres keep the model's spelling), and a value read by a name the row does not
 * carry is undefined, which would be sent as null.
 */
import { distance } from 'fastest-levenshtein';
import type { RoutingConfig } from '../config/config-schema.js';
import type { SyncTarget } from '../destination/destination.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { Row } from '../warehouse/warehouse-adapter.js';

/** Template names that are routing values, not model columns (see task-template.ts). */
export const TEMPLATE_ROUTING_VALUES = [
  'tier',
  'previous_tier',
  'key',
  'sync',
  'rule',
  'due_date',
  'due_at',
  'owner',
] as const;

/** Template values of account-aware routing (`routing.account.tasks: per_account`), not model columns. */
export const ACCOUNT_TEMPLATE_VALUES = ['users', 'user_count', 'account'] as const;

/** Names routing gives values to: routing values, account values and `account_<field>` of `routing.account.sync`. */
function routingValue(name: string, routing: RoutingConfig): boolean {
  if ((TEMPLATE_ROUTING_VALUES as readonly string[]).includes(name)) return true;
  if (routing.account?.tasks !== 'per_account') return false;
  return (
    (ACCOUNT_TEMPLATE_VALUES as readonly string[]).includes(name) ||
    (routing.account.sync !== undefined && name.startsWith('account_'))
  );
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export interface ResolveContext {
  sync: string;
  /** The model file, as shown to the user. */
  modelFile: string;
  configFile?: string;
}

/** A column named in the config: what it is called there and where. */
interface ColumnUse {
  name: string;
  /** Config path, e.g. `syncs.users.fields.Score__c`. */
  path: string;
  /** How the message names the use: `the sync maps column`, `routing.score_column`. */
  what: string;
}

/**
 * The model's column for `use.name`: the exact name, else the single column equal to it ignoring case. Throws
 * CONFIG_INVALID (MODEL_KEY_MISSING for the key) when there is none or several.
 */
export function resolveColumn(
  use: ColumnUse,
  columns: readonly string[],
  ctx: ResolveContext,
  code: 'CONFIG_INVALID' | 'MODEL_KEY_MISSING' = 'CONFIG_INVALID',
): string {
  if (columns.includes(use.name)) return use.name;
  const lower = use.name.toLowerCase();
  const byCase = columns.filter((c) => c.toLowerCase() === lower);
  if (byCase.length === 1) return byCase[0]!;
  const returns = `it returns: ${columns.join(', ')}`;
  const location = {
    ...(code === 'CONFIG_INVALID' && ctx.configFile ? { file: ctx.configFile } : { file: ctx.modelFile }),
    sync: ctx.sync,
    ...(code === 'CONFIG_INVALID' ? { path: use.path } : {}),
  };
  if (byCase.length > 1) {
    throw new PqlsyncError(
      code,
      `${use.what} '${use.name}', which matches ${byCase.map((c) => `'${c}'`).join(' and ')} of ${ctx.modelFile} only by case (${returns})`,
      {
        location,
        hint: 'name the column exactly as the model returns it, or rename one of them in the model',
      },
    );
  }
  const near = columns.map((c) => ({ c, d: distance(c.toLowerCase(), lower) })).sort((a, b) => a.d - b.d)[0];
  const didYouMean =
    near && near.d <= Math.max(2, Math.floor(use.name.length / 3)) ? `; did you mean '${near.c}'?` : '';
  const message =
    code === 'MODEL_KEY_MISSING'
      ? `the model does not return its key column '${use.name}' (${returns})${didYouMean}`
      : `${use.what} '${use.name}', which ${ctx.modelFile} does not return (${returns})${didYouMean}`;
  throw new PqlsyncError(code, message, {
    location,
    hint:
      code === 'MODEL_KEY_MISSING'
        ? 'select the key column in the model, or fix `key` in its front matter'
        : `fix \`${use.path.replace(/^syncs\.[^.]+\./, '')}\` in the sync config, or return the column from the model`,
  });
}

export interface ResolvedColumns {
  target: SyncTarget;
  keyColumn: string;
  routing: RoutingConfig | undefined;
  /**
   * True when a mapped or match column was read under a name the warehouse's rows do not carry before this
   * resolution (so it was sent as null): those rows must be sent again, whatever the snapshot's hashes say.
   */
  misread: boolean;
}

/**
 * Resolves the key, mapped, match and routing columns of one sync. `rowKeysLowerCase`: the adapter keys result
 * rows by lower-cased column names (BigQuery, Snowflake), so a lower-case config name was always read right there.
 */
export function resolveSyncColumns(options: {
  target: SyncTarget;
  keyColumn: string;
  routing: RoutingConfig | undefined;
  columns: readonly string[];
  ctx: ResolveContext;
  rowKeysLowerCase: boolean;
}): ResolvedColumns {
  const { target, routing, columns, ctx } = options;
  const s = `syncs.${ctx.sync}`;
  const col = (name: string, path: string, what: string) => resolveColumn({ name, path, what }, columns, ctx);
  const keyColumn = resolveColumn(
    { name: options.keyColumn, path: '', what: 'the key column' },
    columns,
    ctx,
    'MODEL_KEY_MISSING',
  );
  let misread = false;
  const read = (configName: string, actual: string) => {
    const rowKey = options.rowKeysLowerCase ? actual.toLowerCase() : actual;
    if (rowKey !== configName) misread = true;
    return actual;
  };
  const fields = target.fields.map((f) => ({
    ...f,
    column: read(f.column, col(f.column, `${s}.fields`, 'the sync maps column')),
  }));
  const matchColumn = read(
    target.matchColumn,
    target.matchColumn === options.keyColumn
      ? keyColumn
      : col(target.matchColumn, `${s}.match.column`, 'match.column is'),
  );
  return {
    target: { ...target, fields, matchColumn },
    keyColumn,
    routing: routing && resolveRouting(routing, columns, ctx),
    misread,
  };
}

function resolveRouting(
  routing: RoutingConfig,
  columns: readonly string[],
  ctx: ResolveContext,
): RoutingConfig {
  const r = `syncs.${ctx.sync}.routing`;
  const col = (name: string, path: string, what: string) => resolveColumn({ name, path, what }, columns, ctx);
  const template = (text: string, path: string) =>
    text.replace(PLACEHOLDER, (whole, name: string) =>
      routingValue(name, routing) ? whole : `{{ ${col(name, path, 'the task template uses')} }}`,
    );
  return {
    ...routing,
    ...(routing.tier_column
      ? { tier_column: col(routing.tier_column, `${r}.tier_column`, 'routing.tier_column is') }
      : { score_column: col(routing.score_column, `${r}.score_column`, 'routing.score_column is') }),
    rules: routing.rules.map((rule, i) => ({
      ...rule,
      when: Object.fromEntries(
        Object.entries(rule.when).map(([c, cond]) => [
          routingValue(c, routing) ? c : col(c, `${r}.rules.${i}.when.${c}`, 'the routing rule tests column'),
          cond,
        ]),
      ),
    })),
    ...(routing.account
      ? {
          account: {
            ...routing.account,
            column: col(routing.account.column, `${r}.account.column`, 'routing.account.column is'),
          },
        }
      : {}),
    task: {
      ...routing.task,
      subject: template(routing.task.subject, `${r}.task.subject`),
      ...(routing.task.body !== undefined ? { body: template(routing.task.body, `${r}.task.body`) } : {}),
      ...(routing.task.user_line !== undefined
        ? { user_line: template(routing.task.user_line, `${r}.task.user_line`) }
        : {}),
    },
  };
}

/**
 * A resolved column's value in a result row: rows are keyed by the column's name as the warehouse returns it,
 * or by its lower-cased name (BigQuery, Snowflake adapters).
 */
export function cell(row: Row, column: string): unknown {
  return column in row ? row[column] : row[column.toLowerCase()];
}
