/**
 * `pqlsync demo`: a demo project in `--dir` (default ./pqlsync-demo) with the example models, seeded synthetic
 * product usage in its DuckDB file, and a run of every sync (DESIGN.md, "Demo and sandbox contract").
 */
import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ProjectConfig } from '../../config/config-schema.js';
import type { DemoSandbox } from '../../demo/demo-sandbox.js';
import { PqlsyncError, toPqlsyncError } from '../../errors/pqlsync-error.js';
import type { RunSummary } from '../../runner/run-sync.js';
import type { DuckdbAdapter } from '../../warehouse/duckdb/duckdb-adapter.js';
import { globalFlags, initCli, printSummaries, reportError } from '../cli-context.js';
import {
  demoConfigText,
  DEMO_CONFIG_MARKER,
  DEMO_CRMS,
  isDemoConfig,
  type DemoCrm,
} from '../../demo/demo-config.js';
import { initProject, pqlsyncCommand } from './init.js';
import type { DemoLoopResult } from '../../demo/demo-loop.js';

export interface DemoOptions {
  dir: string;
  users: number;
  seed: number;
  crm: DemoCrm;
  sandbox?: string;
  advanceDays?: number;
  run: boolean;
  json?: boolean;
}

export interface DemoResult {
  dir: string;
  generated: boolean;
  summaries: RunSummary[];
  /** The running sandbox that `.env` named and the demo wrote to (not one it started). */
  runningSandboxUrl?: string;
  /** The demo project's config, when its syncs ran (the summary table reads their modes and destinations). */
  config?: ProjectConfig;
  /** The backtest report of pql_users (`<dir>/reports/pql_users.html`), written after the syncs. */
  reportPath?: string;
  /** One line about the backtest: as-of date, horizon and the top tier's lift. */
  reportSummary?: string;
  /** A CRM demo's closed loop: what simulated reps did, the pull, and the loop report. */
  loop?: DemoLoopResult;
}

/** Creates or reuses the demo project, generates or advances its data, and runs every sync. */
export async function runDemo(
  options: DemoOptions,
  log: (line: string) => void = () => undefined,
): Promise<DemoResult> {
  const dir = path.resolve(options.dir);
  const configPath = path.join(dir, 'config', 'pqlsync.yml');
  if (existsSync(configPath)) {
    if (!isDemoConfig(readFileSync(configPath, 'utf8'))) {
      throw new PqlsyncError(
        'ARGS_INVALID',
        `${dir} holds a pqlsync project that pqlsync demo did not create (the first line of ${configPath} is not "${DEMO_CONFIG_MARKER}"); the demo leaves it alone`,
        { hint: 'pass --dir a new directory, or one that pqlsync demo created' },
      );
    }
  } else {
    // A DuckDB file without a config: look at its tables before writing anything into the directory.
    const dbFile = path.join(dir, DEMO_DATABASE);
    if (existsSync(dbFile)) await withDuckdb(dbFile, (duck) => demoDataPresent(duck, dbFile));
    initProject({ dir, configText: demoConfigText(options.crm) });
    log(`created the demo project in ${dir}`);
  }
  // A CRM demo writes to the sandbox: the one at --sandbox, or one started here with its state in the demo dir.
  const sandbox =
    options.crm === 'file' || !options.run
      ? undefined
      : await (
          await import('../../demo/demo-sandbox.js')
        ).openDemoSandbox({ dir, ...(options.sandbox ? { url: options.sandbox } : {}) });
  try {
    const result = await generateAndRun(options, dir, configPath, sandbox, log);
    return sandbox?.fromEnvFile ? { ...result, runningSandboxUrl: sandbox.url } : result;
  } finally {
    await sandbox?.close();
  }
}

async function generateAndRun(
  options: DemoOptions,
  dir: string,
  configPath: string,
  sandbox: DemoSandbox | undefined,
  log: (line: string) => void,
): Promise<DemoResult> {
  if (sandbox)
    log(
      sandbox.inProcess
        ? `started the CRM sandbox at ${sandbox.url}`
        : `using the CRM sandbox at ${sandbox.url}${sandbox.fromEnvFile ? ' (running, named in .env)' : ''}`,
    );
  // Without a run (--no-run) there is no sandbox; the config still needs its variables to load.
  const placeholders =
    options.crm === 'file'
      ? {}
      : { PQLSYNC_SANDBOX_URL: 'http://127.0.0.1:4010', PQLSYNC_SANDBOX_TOKEN: 'unused' };
  // The demo's parts (DuckDB, the data generator, the runner) load when it runs, not at start-up.
  const [
    { loadConfig },
    { DuckdbAdapter },
    { advanceDemoData, generateDemoData },
    { runSyncs },
    { writeDemoReport },
  ] = await Promise.all([
    import('../../config/load-config.js'),
    import('../../warehouse/duckdb/duckdb-adapter.js'),
    import('../../demo/generate-demo-data.js'),
    import('../../runner/run-syncs.js'),
    import('../../evaluate/demo-report.js'),
  ]);
  const loaded = loadConfig(configPath, { ...placeholders, ...process.env, ...sandbox?.env });
  const wh = loaded.config.warehouse;
  if (wh.type !== 'duckdb')
    throw new PqlsyncError('CONFIG_INVALID', 'the demo project must use the DuckDB warehouse', {
      location: { file: configPath, path: 'warehouse.type' },
    });
  const dbFile = path.resolve(loaded.projectDir, wh.path);
  const duck = new DuckdbAdapter({ path: dbFile });
  await duck.connect();
  let generated = false;
  try {
    const exec = async (sql: string) => {
      await duck.query(sql);
    };
    if (!(await demoDataPresent(duck, dbFile))) {
      const started = Date.now();
      await generateDemoData(exec, { users: options.users, seed: options.seed });
      generated = true;
      log(
        `generated ${options.users} users of synthetic product usage (seed ${options.seed}) in ${((Date.now() - started) / 1000).toFixed(1)}s`,
      );
    }
    if (options.advanceDays && options.advanceDays > 0) {
      await advanceDemoData(exec, { days: options.advanceDays, seed: options.seed });
      log(`advanced the data's clock by ${options.advanceDays} day(s)`);
    }
  } finally {
    await duck.close();
  }
  if (!options.run) return { dir, generated, summaries: [] };
  const summaries = await runSyncs({ loaded, syncs: [], all: true });
  const config = loaded.config;
  const loop =
    // The loop needs reps to have worked: only an advanced CRM demo pulls and reports (a plain rerun sends nothing).
    sandbox && options.crm !== 'file' && (options.advanceDays ?? 0) > 0
      ? await (
          await import('../../demo/demo-loop.js')
        ).runDemoLoop({
          loaded,
          dir,
          crm: options.crm,
          sandbox,
          seed: options.seed,
          simulate: true,
        })
      : undefined;
  // The backtest report is a bonus: a failure to write it is said, and does not fail the demo's syncs.
  try {
    const { path: reportPath, report } = await writeDemoReport(loaded, dir);
    const top = report.tiers[0];
    const reportSummary = `backtest of pql_users as of ${report.asOf} (${report.horizonDays}-day horizon)${top ? `: ${top.tier} tier lift ${top.lift.toFixed(1)}x` : ''}`;
    return { dir, generated, summaries, config, reportPath, reportSummary, ...(loop ? { loop } : {}) };
  } catch (err) {
    log(`could not write the backtest report: ${toPqlsyncError(err).format()}`);
    return { dir, generated, summaries, config, ...(loop ? { loop } : {}) };
  }
}

/** The demo project's DuckDB file, relative to its directory (the demo config's warehouse.path). */
const DEMO_DATABASE = 'pqlsync.duckdb';

async function withDuckdb<T>(file: string, use: (duck: DuckdbAdapter) => Promise<T>): Promise<T> {
  const { DuckdbAdapter } = await import('../../warehouse/duckdb/duckdb-adapter.js');
  const duck = new DuckdbAdapter({ path: file });
  await duck.connect();
  try {
    return await use(duck);
  } finally {
    await duck.close();
  }
}

/**
 * True when the demo's data is there (app.demo_clock exists), false when none of its tables is. Throws when
 * tables the generator would replace exist without the clock: they are someone else's, and are never dropped.
 */
async function demoDataPresent(duck: DuckdbAdapter, dbFile: string): Promise<boolean> {
  if (await duck.tableExists('app', 'demo_clock')) return true;
  const { DEMO_TABLES } = await import('../../demo/generate-demo-data.js');
  const foreign: string[] = [];
  for (const t of DEMO_TABLES) if (await duck.tableExists('app', t)) foreign.push(`app.${t}`);
  if (foreign.length === 0) return false;
  const these = foreign.length === 1 ? 'it' : 'them';
  throw new PqlsyncError(
    'ARGS_INVALID',
    `${dbFile} holds ${foreign.join(', ')}, which pqlsync demo did not create (there is no app.demo_clock); the demo would replace ${these}, so it stops here`,
    { hint: 'pass --dir a new directory, or one that pqlsync demo created' },
  );
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('create a demo project with seeded product-usage data and run every sync')
    .option('--dir <dir>', 'demo project directory', './pqlsync-demo')
    .option('--users <n>', 'users to generate', '5000')
    .option('--seed <n>', 'random seed', '42')
    .option(
      '--crm <crm>',
      `where the syncs write: ${DEMO_CRMS.join(' | ')} (salesforce and hubspot use the local sandbox)`,
      'salesforce',
    )
    .option('--sandbox <url>', 'use a running sandbox at this URL (token from PQLSYNC_SANDBOX_TOKEN)')
    .option('--advance-days <n>', "move the data's clock forward N days with new events")
    .option('--no-run', 'only generate or advance the data')
    .action(async (opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      const flags = globalFlags(cmd);
      // The demo talks to a person: only warnings and errors as log lines, unless asked.
      initCli({ ...flags, logLevel: flags.logLevel ?? 'warn' });
      try {
        const users = intFlag('--users', opts.users, 1, 20_000_000);
        const seed = intFlag('--seed', opts.seed, 0, 2 ** 31 - 1);
        const crm = String(opts.crm) as DemoCrm;
        if (!DEMO_CRMS.includes(crm))
          throw new PqlsyncError(
            'ARGS_INVALID',
            `--crm must be one of ${DEMO_CRMS.join(', ')}, got '${crm}'`,
          );
        const advanceDays =
          opts.advanceDays === undefined ? undefined : intFlag('--advance-days', opts.advanceDays, 0, 3650);
        const say = flags.json ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
        const result = await runDemo(
          {
            dir: String(opts.dir),
            users,
            seed,
            crm,
            ...(typeof opts.sandbox === 'string' ? { sandbox: opts.sandbox } : {}),
            ...(advanceDays !== undefined ? { advanceDays } : {}),
            run: opts.run !== false,
            json: flags.json ?? false,
          },
          say,
        );
        if (result.summaries.length > 0) printSummaries(result.summaries, flags, result.config);
        if (!flags.json && result.summaries.length > 0) {
          const rel = path.relative(process.cwd(), result.dir) || '.';
          // As init prints it: from a clone, `npx pqlsync` would first install and build the clone (tens of seconds).
          const pqlsync = pqlsyncCommand(result.dir);
          const crmLine =
            crm === 'file'
              ? `  the changes:    ${path.join(rel, 'output')}/<sync>.jsonl`
              : result.runningSandboxUrl
                ? `  see the CRM:    ${result.runningSandboxUrl}/   (the running sandbox named in .env)`
                : `  see the CRM:    cd ${rel} && ${pqlsync} sandbox --state sandbox-state.json   (then open the page it prints)`;
          say(`\ndemo project: ${result.dir}\n  run history:    cd ${rel} && ${pqlsync} runs\n${crmLine}`);
          if (result.reportPath) say(`\n${result.reportSummary ?? ''}\nreport: ${result.reportPath}`);
          if (result.loop) {
            const s = result.loop.simulation;
            if (s)
              say(
                `\nreps worked their tasks: ${s.completed} done (${s.late} late), ${s.converted} converted after a task, ${s.baseConverted} without one; ${s.won} won, ${s.lost} lost`,
              );
            const { renderLoopText } = await import('../../report/render-loop-report.js');
            say(`\n${renderLoopText(result.loop.report)}loop report: ${result.loop.reportPath}`);
          }
        }
        const { exitCodeFor } = await import('../../runner/run-sync.js');
        process.exitCode = exitCodeFor(result.summaries);
      } catch (err) {
        process.exitCode = reportError(err, flags);
      }
    });
}

function intFlag(name: string, value: unknown, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `${name} must be a whole number from ${min} to ${max}, got '${String(value)}'`,
    );
  }
  return n;
}
