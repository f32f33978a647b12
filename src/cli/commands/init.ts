/**
 * `pqlsync init [dir]`: a new project with the example models, a config that syncs them to the file destination
 * (edit it to point at Salesforce or HubSpot), the cron and Airflow recipes, and a small sample of product usage
 * in its DuckDB file, so that `plan` and `run` work at once.
 */
import { Command, Option } from 'commander';
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { globalFlags, initCli, reportError } from '../cli-context.js';
import { INIT_CRMS, initConfigText, type InitCrm } from '../init-config.js';

/** Users in the sample data `init` writes: enough for every tier, generated in about a second. */
export const INIT_SAMPLE_USERS = 500;

/** The package's own directory (where `models/` and `config/` ship). */
export const PACKAGE_DIR = fileURLToPath(new URL('../../../', import.meta.url));

export interface InitOptions {
  dir: string;
  /** The config text to write (Default: the package's config/pqlsync.yml). */
  configText?: string;
  force?: boolean;
}

/** Creates `dir/config/pqlsync.yml` and `dir/models/` unless they exist. Returns the config path. */
export function initProject(options: InitOptions): string {
  const dir = path.resolve(options.dir);
  const configPath = path.join(dir, 'config', 'pqlsync.yml');
  if (existsSync(configPath) && !options.force) {
    throw new PqlsyncError('ARGS_INVALID', `${configPath} already exists`, {
      hint: 'pick another directory, or pass --force to overwrite it',
    });
  }
  mkdirSync(path.join(dir, 'config'), { recursive: true });
  const modelsDir = path.join(dir, 'models');
  mkdirSync(modelsDir, { recursive: true });
  cpSync(path.join(PACKAGE_DIR, 'models'), modelsDir, {
    recursive: true,
    force: options.force ?? false,
    errorOnExist: false,
  });
  const schemaSrc = path.join(PACKAGE_DIR, 'config', 'pqlsync.schema.json');
  if (existsSync(schemaSrc)) cpSync(schemaSrc, path.join(dir, 'config', 'pqlsync.schema.json'));
  // The cron wrapper and the Airflow DAG, to copy into place (README: "Scheduling").
  const examples = path.join(PACKAGE_DIR, 'examples');
  if (existsSync(examples)) {
    cpSync(examples, path.join(dir, 'examples'), { recursive: true, force: options.force ?? false });
  }
  writeFileSync(configPath, options.configText ?? defaultConfigText());
  return configPath;
}

/**
 * Writes the sample product usage (the demo's generator, `INIT_SAMPLE_USERS` users, in schema `app`) into the
 * project's DuckDB file, unless `app` already has tables: a file that holds data is never touched.
 * Returns false when it left the file alone.
 */
export async function writeSampleData(dbPath: string): Promise<boolean> {
  // Loaded here, not at start-up: every command's --help would otherwise load DuckDB.
  const { DuckdbAdapter } = await import('../../warehouse/duckdb/duckdb-adapter.js');
  const { generateDemoData } = await import('../../demo/generate-demo-data.js');
  const duck = new DuckdbAdapter({ path: dbPath });
  await duck.connect();
  try {
    const { rows } = await duck.query(
      `select count(*) as n from information_schema.tables where table_schema = 'app'`,
    );
    if (Number(rows[0]?.n ?? 0) > 0) return false;
    await generateDemoData(
      async (sql) => {
        await duck.query(sql);
      },
      { users: INIT_SAMPLE_USERS },
    );
    return true;
  } finally {
    await duck.close();
  }
}

/**
 * How the user can run pqlsync from `dir`, as they would type it: `pqlsync` when it is on PATH (a global install),
 * `npx pqlsync` when the project (or a parent) has it installed, otherwise Node with this package's bin.
 */
export function pqlsyncCommand(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  for (const p of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    try {
      accessSync(path.join(p, 'pqlsync'), constants.X_OK);
      return 'pqlsync';
    } catch {
      // not in this directory
    }
  }
  try {
    const resolved = createRequire(path.join(dir, 'package.json')).resolve('pqlsync/package.json');
    if (realpathSync(path.dirname(resolved)) === realpathSync(PACKAGE_DIR)) return 'npx pqlsync';
  } catch {
    // not installed in the project
  }
  return `node ${path.join(PACKAGE_DIR, 'bin', 'pqlsync.js')}`;
}

function defaultConfigText(): string {
  const p = path.join(PACKAGE_DIR, 'config', 'pqlsync.yml');
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a project: config/pqlsync.yml and the example models')
    .argument('[dir]', 'project directory', '.')
    .option('--force', 'overwrite an existing config')
    .option('--no-sample-data', 'do not write the sample product usage into pqlsync.duckdb')
    .addOption(
      new Option('--crm <crm>', 'where the syncs go: file (JSON lines), salesforce or hubspot')
        .choices(INIT_CRMS)
        .default('file'),
    )
    .action(
      async (dir: string, opts: { force?: boolean; sampleData: boolean; crm: InitCrm }, cmd: Command) => {
        const flags = globalFlags(cmd);
        initCli(flags);
        try {
          const configPath = initProject({
            dir,
            force: opts.force ?? false,
            ...(opts.crm === 'file' ? {} : { configText: initConfigText(opts.crm) }),
          });
          const projectDir = path.dirname(path.dirname(configPath));
          const shown = path.relative(process.cwd(), projectDir) || '.';
          const dbPath = path.join(projectDir, 'pqlsync.duckdb');
          const sampled = opts.sampleData && (await writeSampleData(dbPath));
          const pqlsync = pqlsyncCommand(projectDir);
          const lines = [
            `created ${path.join(shown, 'config', 'pqlsync.yml')}, ${path.join(shown, 'models')}/ (the example models) and ${path.join(shown, 'examples')}/ (cron, Airflow)`,
            sampled
              ? `wrote ${INIT_SAMPLE_USERS} users of sample product usage into ${path.join(shown, 'pqlsync.duckdb')} (schema app), which the example models read`
              : `the example models read app.events, app.users and app.accounts: point their params at your tables (README: "Model files")`,
            'next:',
            ...(shown === '.' ? [] : [`  cd ${shown}`]),
            `  ${pqlsync} plan --all    # what a run would send; writes nothing`,
            opts.crm === 'file'
              ? `  ${pqlsync} run --all     # sends it to the file destination: output/<sync>.jsonl`
              : `  ${pqlsync} run --all     # sends it to ${opts.crm === 'hubspot' ? 'HubSpot' : 'Salesforce'} (set ${opts.crm === 'hubspot' ? 'HUBSPOT_TOKEN' : 'SF_INSTANCE_URL and SF_ACCESS_TOKEN'} first)`,
            ...(opts.crm === 'file'
              ? ['then `init --crm salesforce` or `--crm hubspot` (README: "Your own project in 10 minutes")']
              : []),
          ];
          process.stdout.write(lines.join('\n') + '\n');
        } catch (err) {
          process.exitCode = reportError(err, flags);
        }
      },
    );
}
