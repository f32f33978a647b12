/**
 * Loads `config/pqlsync.yml`: YAML → `${ENV}` interpolation → zod validation. Every problem is collected and
 * reported at once, each with its file, line and dotted path, and "did you mean" for unknown keys.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { closest, distance } from 'fastest-levenshtein';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { yamlToJs } from '../util/yaml-to-js.js';
import type { z } from 'zod';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { isSecretEnvName, registerSecret } from '../errors/secrets.js';
import { alertsSchema, projectConfigSchema, schedulerSchema, type ProjectConfig } from './config-schema.js';

export interface LoadedConfig {
  config: ProjectConfig;
  /** Absolute path of the config file. */
  configPath: string;
  /** The project directory: the parent of `config/`, or the config file's directory otherwise. */
  projectDir: string;
  /** Absolute models directory. */
  modelsDir: string;
  /**
   * Problems in sections whose secrets this command did not resolve (an unset `${VAR}` under `destinations.NAME`,
   * `warehouse` or `alerts`), keyed by section. `requireSection` raises them when the section is used.
   */
  deferred?: Map<string, ConfigIssue[]>;
}

/** The config sections whose `${VAR}`s may stay unresolved until a command uses them. */
export type ConfigSection = 'warehouse' | 'alerts' | `destinations.${string}`;

export interface LoadOptions {
  /**
   * Sections a command may not use: an unset variable in them is recorded in `deferred` instead of failing the
   * load. (Default: none, every section must resolve)
   */
  defer?: readonly ('warehouse' | 'alerts' | 'destinations')[];
}

export interface ConfigIssue {
  path: string;
  /** The path as its parts (for the section it belongs to). */
  pathParts?: (string | number)[];
  line?: number;
  message: string;
}

/** Where `pqlsync` looks for the config when `--config` is not given. */
export const DEFAULT_CONFIG_PATHS = ['config/pqlsync.yml', 'config/pqlsync.yaml', 'pqlsync.yml'] as const;

/** Finds the config file: `--config`, then `PQLSYNC_CONFIG`, then the default paths under `cwd`. */
export function resolveConfigPath(explicit: string | undefined, cwd = process.cwd()): string {
  const given = explicit ?? process.env.PQLSYNC_CONFIG;
  if (given) {
    const p = path.resolve(cwd, given);
    if (!existsSync(p)) {
      throw new PqlsyncError('CONFIG_NOT_FOUND', `config file ${given} does not exist`, {
        hint: 'pass --config PATH, or run `pqlsync init` to create config/pqlsync.yml',
      });
    }
    return p;
  }
  for (const candidate of DEFAULT_CONFIG_PATHS) {
    const p = path.resolve(cwd, candidate);
    if (existsSync(p)) return p;
  }
  throw new PqlsyncError(
    'CONFIG_NOT_FOUND',
    `no config file found in ${cwd} (looked for ${DEFAULT_CONFIG_PATHS.join(', ')})`,
    { hint: 'pass --config PATH, or run `pqlsync init` to create config/pqlsync.yml' },
  );
}

export function loadConfig(
  configPath: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): LoadedConfig {
  const text = readFileSync(configPath, 'utf8');
  const file = displayPath(configPath);
  const deferred = new Map<string, ConfigIssue[]>();
  const config = parseConfig(text, file, env, { ...options, deferred });
  const dir = path.dirname(configPath);
  const projectDir = path.basename(dir) === 'config' ? path.dirname(dir) : dir;
  return {
    config,
    configPath,
    projectDir,
    modelsDir: path.resolve(projectDir, config.models_dir),
    ...(deferred.size > 0 ? { deferred } : {}),
  };
}

/**
 * Raises the problems of a section the command is about to use whose secrets were deferred at load (exit 2, the
 * same located message a full load gives). A command calls it before it connects to the warehouse or a CRM.
 */
export function requireSection(loaded: LoadedConfig, section: ConfigSection): void {
  const issues = loaded.deferred?.get(section);
  if (issues && issues.length > 0) throw configError(displayPath(loaded.configPath), issues);
}

/** The section a config path belongs to, when its secrets may be deferred. */
function sectionOf(parts: readonly (string | number)[]): ConfigSection | undefined {
  if (parts[0] === 'warehouse' || parts[0] === 'alerts') return parts[0];
  if (parts[0] === 'destinations' && parts[1] !== undefined) return `destinations.${String(parts[1])}`;
  return undefined;
}

/** Parses and validates config text. `file` is used in messages only. */
export function parseConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions & { deferred?: Map<string, ConfigIssue[]> } = {},
): ProjectConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    // The first syntax error is the real one; the rest usually follow from it.
    const e = doc.errors[0]!;
    const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw configError(file, [
      { path: '', line: e.linePos?.[0]?.line, message: `YAML syntax error: ${first}` },
    ]);
  }
  const js = yamlToJs(doc, lineCounter);
  if ('problem' in js) throw configError(file, [{ path: '', line: js.line, message: js.problem }]);
  const raw: unknown = js.value ?? {};
  const issues: ConfigIssue[] = [];
  // An unset variable in a section this command does not use waits in `deferred` (raised by requireSection if
  // the command uses the section after all); its value meanwhile is a placeholder no network call ever sees.
  const defer = new Set(options.defer ?? []);
  const deferredSection = (at: (string | number)[]): ConfigSection | undefined => {
    const section = sectionOf(at);
    const kind = section?.startsWith('destinations.') ? 'destinations' : section;
    return section && options.deferred && defer.has(kind as 'warehouse') ? section : undefined;
  };
  const waiting: ConfigIssue[] = [];
  const interpolated = interpolateEnv(
    raw,
    [],
    env,
    (issue) => {
      const section = deferredSection(issue.pathParts ?? []);
      if (!section) {
        issues.push(issue);
        return '';
      }
      waiting.push(issue);
      options.deferred!.set(section, [...(options.deferred!.get(section) ?? []), issue]);
      return UNRESOLVED;
    },
    (p) => lineOf(doc, lineCounter, p),
  );
  // jitless: zod would otherwise compile a fast parser for every object schema (a Function each) to use once.
  const parsed = projectConfigSchema.safeParse(interpolated, { reportInput: true, jitless: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      for (const one of describeZodIssue(issue, interpolated)) {
        issues.push({ ...one, line: lineOf(doc, lineCounter, one.pathParts) });
      }
    }
    // No config without a valid schema: the deferred variables are reported with the rest.
    issues.push(...waiting);
  }
  if (issues.length === 0 && parsed.success) {
    const crossIssues = crossCheck(parsed.data);
    for (const one of crossIssues) issues.push({ ...one, line: lineOf(doc, lineCounter, one.pathParts) });
  }
  if (issues.length > 0) throw configError(file, issues);
  if (!parsed.success) throw new PqlsyncError('INTERNAL', 'config validation failed without issues');
  return parsed.data;
}

function configError(file: string, issues: ConfigIssue[]): PqlsyncError {
  const sorted = [...issues]
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
    .map(({ path: at, line, message }) => ({ path: at, ...(line !== undefined ? { line } : {}), message }));
  const lines = sorted.map((i) => {
    const at = i.line !== undefined ? `${file}:${i.line}` : file;
    return `  ${at}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
  });
  const noun = issues.length === 1 ? 'problem' : 'problems';
  const first = sorted[0];
  // The message names every location itself; the error's own location stays empty so it is not repeated.
  return new PqlsyncError('CONFIG_INVALID', `${issues.length} ${noun} in ${file}:\n${lines.join('\n')}`, {
    details: { issues: sorted, file, ...(first?.line !== undefined ? { line: first.line } : {}) },
  });
}

function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
}

/**
 * What a deferred `${VAR}` reads as until its section is required: a URL in a reserved, never-resolving domain
 * (RFC 2606), so the schema's URL checks pass; `requireSection` stops every use before it could be sent.
 */
const UNRESOLVED = 'https://unresolved.invalid';

const ENV_PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` (or `${NAME:-default}`) in every string value. An unset variable without a default is an
 * issue at that path. Values of secret-looking variables are registered for scrubbing.
 */
function interpolateEnv(
  value: unknown,
  at: (string | number)[],
  env: NodeJS.ProcessEnv,
  unset: (issue: ConfigIssue) => string,
  line: (p: (string | number)[]) => number | undefined,
): unknown {
  if (typeof value === 'string') {
    const keyName = String(at[at.length - 1] ?? '');
    return value.replace(ENV_PATTERN, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v === undefined || v === '') {
        if (fallback !== undefined) return fallback;
        return unset({
          path: formatPath(at),
          pathParts: at,
          line: line(at),
          message: `environment variable ${name} is not set (export ${name}=... before running pqlsync)`,
        });
      }
      if (isSecretEnvName(name) || /token|secret|password|key/i.test(keyName)) registerSecret(v);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, [...at, i], env, unset, line));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, [...at, k], env, unset, line);
    return out;
  }
  return value;
}

interface LocatedIssue {
  path: string;
  pathParts: (string | number)[];
  message: string;
}

function describeZodIssue(issue: z.core.$ZodIssue, data: unknown): LocatedIssue[] {
  const parts = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(data, parts);
    return issue.keys.map((key) => {
      const suggestion = known.length > 0 ? closest(key, known) : undefined;
      const hint =
        suggestion && distance(key, suggestion) <= Math.max(2, Math.floor(key.length / 3))
          ? `; did you mean '${suggestion}'?`
          : known.length > 0
            ? `; expected one of: ${known.join(', ')}`
            : '';
      return {
        path: formatPath([...parts, key]),
        pathParts: [...parts, key],
        message: `unknown key '${key}'${hint}`,
      };
    });
  }
  if (issue.code === 'invalid_key') {
    const key = String(parts[parts.length - 1] ?? '');
    const why = issue.issues[0]?.message ?? issue.message;
    return [{ path: formatPath(parts), pathParts: parts, message: `the name '${key}' ${why}` }];
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) {
    const base = parts[parts.length - 1] === issue.discriminator ? parts.slice(0, -1) : parts;
    const holder = valueAt(data, base) as Record<string, unknown> | undefined;
    const found = holder?.[issue.discriminator];
    const allowed = /Expected (.*)$/.exec(issue.message)?.[1]?.replace(/'/g, '').split(' | ') ?? [];
    return [
      {
        path: formatPath([...base, issue.discriminator]),
        pathParts: [...base, issue.discriminator],
        message:
          found === undefined
            ? `is required; expected one of ${allowed.join(', ')}`
            : `unknown ${issue.discriminator} ${JSON.stringify(found)}; expected one of ${allowed.join(', ')}`,
      },
    ];
  }
  return [{ path: formatPath(parts), pathParts: parts, message: zodMessage(issue) }];
}

function valueAt(data: unknown, parts: (string | number)[]): unknown {
  let v: unknown = data;
  for (const p of parts)
    v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

function zodMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    const got = issue.input === undefined ? 'nothing' : describeValue(issue.input);
    return issue.input === undefined
      ? `is required (expected ${issue.expected})`
      : `expected ${issue.expected}, got ${got}`;
  }
  if (issue.code === 'invalid_value') {
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(issue.input)}`;
  }
  return issue.message;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The keys the schema allows at a path, found by looking at what the config holds around it. */
function knownKeysAt(data: unknown, parts: (string | number)[]): string[] {
  if (parts.length === 0) return Object.keys(projectConfigSchema.shape);
  const [head, name, ...rest] = parts;
  const objectKeys = (s: unknown): string[] => {
    if (s && typeof s === 'object' && 'shape' in s) return Object.keys((s as { shape: object }).shape);
    return [];
  };
  const shapes = projectConfigSchema.shape;
  if (head === 'syncs' && name !== undefined) {
    if (rest.length === 0) return objectKeys(shapes.syncs.unwrap().valueType);
    if (rest[0] === 'match') return ['field', 'column'];
    return ['column', 'skip_null', 'cleared_value'];
  }
  if (head === 'warehouse' || head === 'destinations') {
    const node = head === 'warehouse' ? data : (data as Record<string, unknown>)?.destinations;
    const obj =
      head === 'warehouse'
        ? (node as Record<string, unknown>)?.warehouse
        : (node as Record<string, unknown>)?.[String(name)];
    const type = (obj as Record<string, unknown> | undefined)?.type;
    // Typed as the loop reads them: a conditional of the two unions' own types made tsc compare the warehouse and
    // destination schemas structurally, a seventh of the whole typecheck's time.
    const options: ReadonlyArray<{ shape: unknown }> =
      head === 'warehouse'
        ? shapes.warehouse.unwrap().options
        : shapes.destinations.unwrap().valueType.options;
    for (const option of options) {
      const keys = objectKeys(option);
      const literal = (option.shape as { type: z.ZodType }).type;
      const values = 'values' in literal ? [...(literal.values as Set<unknown>)] : [];
      if (values.includes(type)) {
        const sub = head === 'warehouse' ? parts.slice(1) : rest;
        if (sub.length === 0) return keys;
        return [];
      }
    }
    return [];
  }
  if (head === 'state') return ['schema'];
  if (head === 'scheduler') return Object.keys(schedulerSchema.shape);
  if (head === 'alerts') return Object.keys(alertsSchema.shape);
  return [];
}

/** Checks that need the whole config: syncs point at existing destinations and syncs. */
function crossCheck(config: ProjectConfig): LocatedIssue[] {
  const out: LocatedIssue[] = [];
  const destNames = Object.keys(config.destinations);
  const syncNames = Object.keys(config.syncs);
  for (const [name, sync] of Object.entries(config.syncs)) {
    if (!config.destinations[sync.destination]) {
      const suggestion = destNames.length > 0 ? closest(sync.destination, destNames) : undefined;
      out.push({
        path: `syncs.${name}.destination`,
        pathParts: ['syncs', name, 'destination'],
        message:
          `destination '${sync.destination}' is not defined under destinations` +
          (suggestion ? `; did you mean '${suggestion}'?` : ' (there are none)'),
      });
    }
    const accountSync = sync.routing?.account?.sync;
    if (accountSync !== undefined && !config.syncs[accountSync]) {
      out.push({
        path: `syncs.${name}.routing.account.sync`,
        pathParts: ['syncs', name, 'routing', 'account', 'sync'],
        message: `sync '${accountSync}' is not defined; syncs are: ${syncNames.join(', ')}`,
      });
    }
    sync.depends_on.forEach((dep, i) => {
      if (!config.syncs[dep]) {
        out.push({
          path: `syncs.${name}.depends_on.${i}`,
          pathParts: ['syncs', name, 'depends_on', i],
          message: `sync '${dep}' is not defined; syncs are: ${syncNames.join(', ')}`,
        });
      }
    });
  }
  return out;
}

function formatPath(parts: (string | number)[]): string {
  return parts.map((p) => String(p)).join('.');
}

/** The 1-based line of the node at `parts` (or of its nearest existing parent). */
function lineOf(doc: Document, lc: LineCounter, parts: (string | number)[]): number | undefined {
  for (let n = parts.length; n >= 0; n--) {
    const sub = parts.slice(0, n);
    const node = n === 0 ? doc.contents : (doc.getIn(sub, true) as unknown);
    // The node itself; for a missing child, the key line of its nearest parent reads best.
    const range =
      n < parts.length && n > 0
        ? (keyRange(doc, sub) ?? rangeOf(node))
        : (rangeOf(node) ?? (n > 0 ? keyRange(doc, sub) : undefined));
    if (range) return lc.linePos(range).line;
  }
  return undefined;
}

function rangeOf(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const r = (node as Node).range;
    if (r) return r[0];
  }
  return undefined;
}

/** For a missing value or an unknown key, the position of the key itself. */
function keyRange(doc: Document, parts: (string | number)[]): number | undefined {
  const parent = parts.length === 1 ? doc.contents : doc.getIn(parts.slice(0, -1), true);
  const last = parts[parts.length - 1];
  if (isMap(parent)) {
    for (const item of parent.items) {
      if (isScalar(item.key) && item.key.value === last) return item.key.range?.[0];
    }
  }
  if (isSeq(parent) && typeof last === 'number') return rangeOf(parent.items[last]);
  return undefined;
}
