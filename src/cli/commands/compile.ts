/**
 * `pqlsync compile <model> [--dialect D] [--vars JSON] [--models-dir DIR] [--json]`: prints the SQL a model
 * compiles to and its bind parameters, without touching a warehouse. With `--json`: `{"sql", "params"}`.
 *
 * The models folder is `--models-dir`, else the project's (`<project>/models` next to `config/pqlsync.yml`), else
 * `./models` when there is no project config. The dialect is `--dialect`, else the project's warehouse type,
 * else duckdb. Errors print as `pqlsync: <file:line: message>` and exit 2.
 */
import { Command, Option } from 'commander';
import path from 'node:path';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { DIALECTS, type Dialect } from '../../warehouse/warehouse-adapter.js';
import {
  EXIT,
  globalFlags,
  initCli,
  loadProject,
  parseVars,
  reportError,
  type GlobalFlags,
} from '../cli-context.js';

interface CompileFlags {
  dialect?: Dialect;
  modelsDir?: string;
}

/** Where the models are and which dialect to use when the flags do not say. */
async function resolveTarget(
  flags: GlobalFlags,
  opts: CompileFlags,
): Promise<{ modelsDir: string; dialect: Dialect }> {
  if (opts.modelsDir && opts.dialect)
    return { modelsDir: path.resolve(opts.modelsDir), dialect: opts.dialect };
  try {
    const loaded = await loadProject(flags, 'nothing');
    return {
      modelsDir: opts.modelsDir ? path.resolve(opts.modelsDir) : loaded.modelsDir,
      dialect: opts.dialect ?? loaded.config.warehouse.type,
    };
  } catch (err) {
    // No project config is fine for compiling: use ./models and duckdb. A config that was asked for, or one
    // that exists but is invalid, is still an error.
    const asked = flags.config !== undefined || Boolean(process.env.PQLSYNC_CONFIG);
    if (!(err instanceof PqlsyncError) || err.code !== 'CONFIG_NOT_FOUND' || asked) throw err;
    return { modelsDir: path.resolve(opts.modelsDir ?? 'models'), dialect: opts.dialect ?? 'duckdb' };
  }
}

/** Runs one `compile` invocation and returns its exit code. */
export async function runCompile(modelName: string, opts: CompileFlags, flags: GlobalFlags): Promise<number> {
  try {
    const vars = parseVars(flags.vars);
    const { modelsDir, dialect } = await resolveTarget(flags, opts);
    // The model code (and its YAML parser and schema) loads when a model is compiled, not at start-up.
    const [{ loadModel }, { compileModel }] = await Promise.all([
      import('../../model/model-file.js'),
      import('../../model/compile-model.js'),
    ]);
    const model = await loadModel(modelsDir, modelName, dialect);
    const compiled = compileModel(model, { dialect, ...(vars ? { vars } : {}) });
    if (flags.json) {
      process.stdout.write(JSON.stringify({ sql: compiled.sql, params: compiled.params }) + '\n');
      return EXIT.success;
    }
    const lines = [`-- ${model.name} (version ${model.hash}) compiled for ${dialect} from ${model.bodyPath}`];
    compiled.params.forEach((p, i) => {
      const placeholder =
        dialect === 'duckdb'
          ? `$${p.name}`
          : dialect === 'bigquery'
            ? `@${p.name}`
            : dialect === 'snowflake'
              ? `:${i + 1}`
              : `$${i + 1}`;
      lines.push(`-- ${placeholder} ${p.name} ${p.type} = ${JSON.stringify(p.value)}`);
    });
    process.stdout.write(`${lines.join('\n')}\n${compiled.sql.replace(/^\s*\n/, '')}\n`);
    return EXIT.success;
  } catch (err) {
    return reportError(err, flags);
  }
}

export function registerCompileCommand(program: Command): void {
  program
    .command('compile')
    .description('print the SQL and bind parameters a model compiles to (nothing is run)')
    .argument('<model>', 'model name (models/<model>.sql)')
    .addOption(
      new Option('--dialect <dialect>', 'SQL dialect (default: the project warehouse, else duckdb)').choices(
        DIALECTS,
      ),
    )
    .option('--models-dir <dir>', 'folder holding the model files (default: <project>/models)')
    .action(async (modelName: string, opts: CompileFlags, cmd: Command) => {
      const flags = globalFlags(cmd);
      initCli(flags);
      process.exitCode = await runCompile(modelName, opts, flags);
    });
}
