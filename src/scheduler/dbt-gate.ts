/**
 * The `--after-dbt path/run_results.json` gate: a sync is skipped when a dbt node its model reads from failed
 * (or was skipped, or has a failing test) in that dbt invocation, so stale or broken data never reaches the CRM.
 *
 * Glossary:
 * - run_results.json: dbt's per-invocation summary; `results[]` with `unique_id`, `status` and (for models)
 *   `relation_name`.
 * - manifest.json: written next to it by dbt; used, when present, to find the model a failing test belongs to
 *   (`nodes[test].depends_on.nodes`) and the relation of each model (`database.schema.alias`).
 * - upstream: a dbt model whose relation (`schema.table`, or `database.schema.table`) the compiled pqlsync model
 *   names in its SQL.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PqlsyncError } from '../errors/pqlsync-error.js';

/** dbt result statuses that mean the node's data cannot be trusted. */
export const DBT_BAD_STATUSES = ['error', 'fail', 'runtime error', 'skipped'] as const;

export interface DbtFailure {
  /** The failing node (`model.shop.dim_users`, or the test that failed on it). */
  nodeId: string;
  status: string;
  /** The relation of the model the failure makes stale, lower case, without quotes: `analytics.dim_users`. */
  relation: string;
}

export interface DbtGate {
  /** The file the gate was read from (for messages). */
  file: string;
  failures: DbtFailure[];
  /** Why a model with this compiled SQL must not run, or undefined when nothing it reads failed. */
  blockReason(model: string, sql: string): string | undefined;
}

interface ResultEntry {
  unique_id?: unknown;
  status?: unknown;
  relation_name?: unknown;
}

interface ManifestNode {
  resource_type?: unknown;
  database?: unknown;
  schema?: unknown;
  alias?: unknown;
  name?: unknown;
  relation_name?: unknown;
  depends_on?: { nodes?: unknown };
}

/** Reads `run_results.json` (and `manifest.json` beside it, when there) into a gate. Throws ARGS_INVALID. */
export function readDbtGate(file: string): DbtGate {
  const shown = file;
  if (!existsSync(file)) {
    throw new PqlsyncError('ARGS_INVALID', `--after-dbt: ${shown} does not exist`, {
      hint: 'pass the run_results.json that `dbt build` wrote (target/run_results.json by default)',
    });
  }
  const results = parseJson(file);
  const list = (results as { results?: unknown }).results;
  if (!Array.isArray(list)) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `--after-dbt: ${shown} has no "results" list; is it a dbt run_results.json?`,
      {
        location: { file: shown },
      },
    );
  }
  const manifestPath = path.join(path.dirname(file), 'manifest.json');
  const manifestNodes = existsSync(manifestPath)
    ? (((parseJson(manifestPath) as { nodes?: unknown }).nodes ?? {}) as Record<string, ManifestNode>)
    : {};
  const failures: DbtFailure[] = [];
  for (const raw of list as ResultEntry[]) {
    const id = typeof raw.unique_id === 'string' ? raw.unique_id : undefined;
    const status = typeof raw.status === 'string' ? raw.status : undefined;
    if (!id || !status || !(DBT_BAD_STATUSES as readonly string[]).includes(status)) continue;
    // A failing test makes the models it tests untrustworthy; a failed or skipped model is stale itself.
    const targets = id.startsWith('test.') ? testedModels(id, manifestNodes) : [id];
    for (const target of targets) {
      const relation =
        target === id && typeof raw.relation_name === 'string'
          ? normaliseRelation(raw.relation_name)
          : relationOf(target, manifestNodes);
      if (relation) failures.push({ nodeId: id, status, relation });
    }
  }
  return {
    file: shown,
    failures,
    blockReason(model, sql) {
      const text = normaliseSql(sql);
      const hit = failures.find((f) => readsRelation(text, f.relation));
      if (!hit) return undefined;
      return `dbt node ${hit.nodeId} has status '${hit.status}' in ${shown}, and model ${model} reads ${hit.relation}; fix dbt and rerun it first`;
    },
  };
}

function parseJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new PqlsyncError('ARGS_INVALID', `--after-dbt: cannot read ${file}: ${(err as Error).message}`, {
      location: { file },
    });
  }
}

function testedModels(testId: string, nodes: Record<string, ManifestNode>): string[] {
  const deps = nodes[testId]?.depends_on?.nodes;
  if (Array.isArray(deps))
    return deps.filter((d): d is string => typeof d === 'string' && /^(model|snapshot|seed)\./.test(d));
  return [];
}

function relationOf(nodeId: string, nodes: Record<string, ManifestNode>): string | undefined {
  const node = nodes[nodeId];
  if (node) {
    if (typeof node.relation_name === 'string') return normaliseRelation(node.relation_name);
    const name =
      typeof node.alias === 'string' ? node.alias : typeof node.name === 'string' ? node.name : undefined;
    if (typeof node.schema === 'string' && name) {
      const db = typeof node.database === 'string' && node.database ? `${node.database}.` : '';
      return normaliseRelation(`${db}${node.schema}.${name}`);
    }
  }
  return undefined;
}

/** `"db"."Analytics"."dim_users"` → `db.analytics.dim_users`. */
export function normaliseRelation(name: string): string {
  return name
    .replace(/["`[\]]/g, '')
    .toLowerCase()
    .trim();
}

function normaliseSql(sql: string): string {
  return sql.replace(/["`[\]]/g, '').toLowerCase();
}

/** True when the SQL names the relation as `schema.table` (or with its database), as a whole identifier. */
function readsRelation(sql: string, relation: string): boolean {
  const parts = relation.split('.');
  const schemaTable = parts.slice(-2).join('.');
  const escaped = schemaTable.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^a-z0-9_.])([a-z0-9_]+\\.)?${escaped}($|[^a-z0-9_])`).test(sql);
}
