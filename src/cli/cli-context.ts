/**
 * What every CLI command shares: global flags, loading the project, printing errors and summaries, and exit codes
 * (DESIGN.md: 0 success; 1 the run failed; 2 invalid config, model, vars or arguments; 3 some records rejected;
 * 4 another run holds the lock).
 */
import type { Command } from 'commander';
import 'dotenv/config';
import type { LoadedConfig, LoadOptions } from '../config/load-config.js';
import { formatWithHint, PqlsyncError, toPqlsyncError } from '../errors/pqlsync-error.js';
import { registerSecretsFromEnv, scrubSecrets } from '../errors/secrets.js';
import type { ProjectConfig } from '../config/config-schema.js';
import type { RunSummary } from '../runner/run-sync.js';
import { describeFlagRate } from '../runner/flag-rate-text.js';
import { createLogger, defaultLogFormat, setLogger } from '../util/logger.js';
import { formatPlannedTasks } from '../routing/plan-tasks.js';
import { formatRejections } from '../state/failure-report.js';

export const EXIT = { success: 0, failed: 1, invalid: 2, rejected: 3, locked: 4, upstreamFailed: 5 } as const;

export interface GlobalFlags {
  config?: string;
  vars?: string;
  json?: boolean;
  logLevel?: string;
}

/** Global flags from the root program, merged with a command's own. */
export function globalFlags(cmd: Command): GlobalFlags {
  return cmd.optsWithGlobals<GlobalFlags>();
}

/** Sets up logging and secret scrubbing for one invocation. */
export function initCli(flags: GlobalFlags): void {
  registerSecretsFromEnv();
  const level = flags.logLevel ?? process.env.PQLSYNC_LOG_LEVEL ?? (flags.json ? 'warn' : 'info');
  setLogger(createLogger({ level, format: defaultLogFormat(flags.json ?? false) }));
}

/**
 * Loads the project config (the config loader, with its YAML parser and schema, is imported here, not at start-up,
 * so `--help` stays fast). `uses` names what the command may connect to; secrets (`${VAR}`s) of the sections it
 * does not use are not required, so `compile`, `runs`, `failures` and `evaluate` work without a CRM token.
 * (Default: everything)
 */
export async function loadProject(
  flags: GlobalFlags,
  uses: CommandUses = 'everything',
  cwd = process.cwd(),
): Promise<LoadedConfig> {
  const { loadConfig, resolveConfigPath } = await import('../config/load-config.js');
  const defer: LoadOptions['defer'] =
    uses === 'everything'
      ? []
      : uses === 'warehouse'
        ? ['destinations', 'alerts']
        : ['warehouse', 'destinations', 'alerts'];
  return loadConfig(resolveConfigPath(flags.config, cwd), process.env, { defer });
}

/**
 * What a command connects to: `nothing` (compile); `warehouse` (runs, failures, evaluate); `on demand` (run and
 * plan: the warehouse and the destinations of the syncs they run, required before the first sync starts);
 * `everything` (schedule, demo).
 */
export type CommandUses = 'nothing' | 'warehouse' | 'on demand' | 'everything';

/** Parses `--vars` (a JSON object). */
export function parseVars(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PqlsyncError('VARS_INVALID', `--vars is not valid JSON: ${(err as Error).message}`, {
      hint: `pass an object, e.g. --vars '{"lookback_days": 14}'`,
    });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PqlsyncError(
      'VARS_INVALID',
      `--vars must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`,
      {
        hint: `pass an object, e.g. --vars '{"lookback_days": 14}'`,
      },
    );
  }
  return parsed as Record<string, unknown>;
}

/** Prints an error (JSON on stdout with --json, text on stderr otherwise) and returns its exit code. */
export function reportError(err: unknown, flags: GlobalFlags): number {
  const e = toPqlsyncError(err);
  const code = exitCodeForError(e);
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({ status: 'failed', error: { ...e.toJSON(), message: e.headline() } }) + '\n',
    );
  } else {
    process.stderr.write(`pqlsync: ${scrubSecrets(e.format())}\n`);
  }
  return code;
}

export function exitCodeForError(e: PqlsyncError): number {
  if (e.code === 'STATE_LOCK_HELD') return EXIT.locked;
  if (e.code === 'DBT_UPSTREAM_FAILED') return EXIT.upstreamFailed;
  return e.kind === 'config' ? EXIT.invalid : EXIT.failed;
}

/**
 * Prints run/plan summaries: one JSON object per sync with --json, a short table otherwise. With the project's
 * config, the table says what the counts mean for each sync: removed rows of an update or upsert sync are
 * "not sent" (only mirror sends them), and a file destination makes no API calls (its column shows "-", and is
 * left out when no sync has an API).
 */
export function printSummaries(
  summaries: readonly RunSummary[],
  flags: GlobalFlags,
  config?: Pick<ProjectConfig, 'syncs' | 'destinations'>,
): void {
  if (flags.json) {
    for (const s of summaries) process.stdout.write(JSON.stringify(jsonSummary(s)) + '\n');
    return;
  }
  const header = [
    'sync',
    'status',
    'added',
    'changed',
    'removed',
    'invalid',
    'applied',
    'rejected',
    'tasks',
    'api calls',
    'time',
  ];
  const syncOf = (s: RunSummary) => config?.syncs[s.sync];
  const usesApi = (s: RunSummary) => {
    const sync = syncOf(s);
    return !sync || config?.destinations?.[sync.destination]?.type !== 'file';
  };
  const removed = (s: RunSummary) => {
    const mode = syncOf(s)?.mode;
    return s.counts.removed > 0 && mode !== undefined && mode !== 'mirror'
      ? `${s.counts.removed} (not sent)`
      : String(s.counts.removed);
  };
  const rows = summaries.map((s) => [
    s.sync,
    s.status,
    String(s.counts.added),
    String(s.counts.changed),
    removed(s),
    String(s.counts.invalid),
    String(s.counts.applied),
    String(s.counts.rejected),
    String(s.counts.tasks),
    usesApi(s) ? String(s.apiCalls) : '-',
    `${(s.durationMs / 1000).toFixed(1)}s`,
  ]);
  // A column of dashes says nothing: without a sync that calls an API, the column is left out.
  const apiColumn = header.indexOf('api calls');
  const shown = summaries.some(usesApi)
    ? { header, rows }
    : {
        header: header.filter((_, i) => i !== apiColumn),
        rows: rows.map((r) => r.filter((_, i) => i !== apiColumn)),
      };
  process.stdout.write(formatTable(shown.header, shown.rows) + '\n');
  for (const s of summaries) {
    if (s.flagRate) process.stdout.write(describeFlagRate(s.sync, s.flagRate) + '\n');
  }
  for (const s of summaries) {
    const bytes = s.plan?.estimatedBytes;
    if (bytes !== undefined)
      process.stdout.write(
        `${s.sync}: the model would process ${bytes.toLocaleString('en-US')} bytes (warehouse dry run)\n`,
      );
  }
  for (const s of summaries) {
    if (s.plan?.tasks) process.stdout.write(formatPlannedTasks(s.sync, s.counts.tasks, s.plan.tasks));
  }
  for (const s of summaries) {
    if (s.rejections) process.stdout.write('\n' + formatRejections(s.sync, s.rejections));
  }
  for (const s of summaries) {
    if (!s.error) continue;
    // The message names the sync already when its location has it.
    const named = s.error.message.includes(`sync ${s.sync}`);
    process.stderr.write(`\n${named ? '' : `${s.sync}: `}${s.error.message}\n`);
  }
}

/**
 * A summary as `--json` prints it: the error's `message` without the hint, which is in its own `hint` field
 * (the summary's message is the full human text, hint included, as the table output prints it).
 */
export function jsonSummary(s: RunSummary): RunSummary {
  const e = s.error;
  const suffix = e?.hint ? formatWithHint('', e.hint) : '';
  if (!e || !suffix || !e.message.endsWith(suffix)) return s;
  return { ...s, error: { ...e, message: e.message.slice(0, -suffix.length) } };
}

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
