/**
 * `pqlsync evaluate <model> --horizon DAYS [--as-of DATE] [--conversions TABLE] [--activity TABLE]
 * [--vs-vars JSON] [--vs-model NAME] [--sync NAME] [--out FILE] [--rolling [N] [--step DAYS]] [--json]`: backtests a model in the project's
 * warehouse (DESIGN.md, "Evaluate contract"). Prints a table, or the report's JSON with `--json`; `--out` also
 * writes the self-contained HTML report. Invalid arguments, models and tables exit 2; warehouse failures exit 1.
 * Health checks that fail are reported, not turned into an exit code.
 */
import { Command } from 'commander';
import type { LoadedConfig } from '../../config/load-config.js';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import type { EvaluateOptions } from '../../evaluate/evaluate-model.js';
import type { EvaluationReport } from '../../evaluate/evaluation-report.js';
import { ROLLING_DEFAULTS } from '../../evaluate/rolling-defaults.js';
import {
  EXIT,
  globalFlags,
  initCli,
  loadProject,
  parseVars,
  reportError,
  type GlobalFlags,
} from '../cli-context.js';

export interface EvaluateFlags {
  horizon?: string;
  asOf?: string;
  conversions?: string;
  activity?: string;
  vsVars?: string;
  vsModel?: string;
  sync?: string;
  out?: string;
  tierColumn?: string;
  scoreColumn?: string;
  flagColumn?: string;
  rolling?: string | boolean;
  step?: string;
}

/** The params of the sync that runs this model: `--sync`, else the sync named like the model, else none. */
function syncParams(
  loaded: LoadedConfig,
  model: string,
  sync: string | undefined,
): Record<string, unknown> | undefined {
  const syncs = loaded.config.syncs;
  if (sync !== undefined) {
    const s = syncs[sync];
    if (!s) {
      throw new PqlsyncError(
        'ARGS_INVALID',
        `--sync ${sync}: no such sync in ${loaded.configPath}; syncs: ${Object.keys(syncs).join(', ') || 'none'}`,
      );
    }
    if (s.model !== model) {
      throw new PqlsyncError('ARGS_INVALID', `--sync ${sync} runs model ${s.model}, not ${model}`);
    }
    return s.params;
  }
  const same = syncs[model];
  return same && same.model === model ? same.params : undefined;
}

/** Parses a JSON-object flag the way `--vars` is parsed, naming the flag in errors. */
function parseObjectFlag(name: string, text: string | undefined): Record<string, unknown> | undefined {
  try {
    return parseVars(text);
  } catch (err) {
    if (err instanceof PqlsyncError) {
      throw new PqlsyncError('ARGS_INVALID', err.message.replace(/^--vars/, name), {
        hint: `pass an object, e.g. ${name} '{"hot_threshold": 80}'`,
      });
    }
    throw err;
  }
}

/** A flag that must be a whole number. */
function wholeNumber(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) {
    throw new PqlsyncError('ARGS_INVALID', `${flag} must be a whole number, got '${text}'`);
  }
  return Number(text);
}

/** Runs one `evaluate` invocation and returns its exit code. */
export async function runEvaluate(
  modelName: string,
  opts: EvaluateFlags,
  flags: GlobalFlags,
): Promise<number> {
  try {
    const horizonDays = Number(opts.horizon);
    if (opts.horizon === undefined) {
      throw new PqlsyncError(
        'ARGS_INVALID',
        '--horizon is required: the days after the as-of date a conversion counts',
        {
          hint: 'e.g. --horizon 30: a conversion counts when it happens within 30 days of the as-of date',
        },
      );
    }
    if (!/^\d+$/.test(opts.horizon) || horizonDays < 1 || horizonDays > 3650) {
      throw new PqlsyncError(
        'ARGS_INVALID',
        `--horizon must be a whole number of days from 1 to 3650, got '${opts.horizon}'`,
        { hint: 'e.g. --horizon 30: a conversion counts when it happens within 30 days of the as-of date' },
      );
    }
    const vars = parseVars(flags.vars);
    const vsVars = parseObjectFlag('--vs-vars', opts.vsVars);
    const loaded = await loadProject(flags, 'warehouse');
    // Loaded when the command runs, not at start-up (the warehouse's client among them).
    const [{ evaluateModel }, { writeHtmlReport }, { renderText }, { createWarehouse }] = await Promise.all([
      import('../../evaluate/evaluate-model.js'),
      import('../../evaluate/render-html.js'),
      import('../../evaluate/render-text.js'),
      import('../../warehouse/create-warehouse.js'),
    ]);
    const configParams = syncParams(loaded, modelName, opts.sync);
    const wh = await createWarehouse(loaded);
    await wh.connect();
    let report: EvaluationReport;
    try {
      const options: EvaluateOptions = {
        wh,
        modelsDir: loaded.modelsDir,
        model: modelName,
        horizonDays,
        ...(opts.asOf !== undefined ? { asOf: opts.asOf } : {}),
        ...(opts.conversions !== undefined ? { conversionsTable: opts.conversions } : {}),
        ...(opts.activity !== undefined ? { activityTable: opts.activity } : {}),
        ...(vars ? { vars } : {}),
        ...(configParams ? { configParams } : {}),
        ...(vsVars || opts.vsModel
          ? { vs: { ...(vsVars ? { vars: vsVars } : {}), ...(opts.vsModel ? { model: opts.vsModel } : {}) } }
          : {}),
        columns: {
          ...(opts.tierColumn ? { tier: opts.tierColumn } : {}),
          ...(opts.scoreColumn ? { score: opts.scoreColumn } : {}),
          ...(opts.flagColumn ? { flag: opts.flagColumn } : {}),
        },
      };
      if (opts.rolling !== undefined) {
        if (opts.out) {
          throw new PqlsyncError('ARGS_INVALID', '--out is not available with --rolling', {
            hint: 'write the HTML report of one as-of date without --rolling',
          });
        }
        const { evaluateRolling, renderRollingText } = await import('../../evaluate/rolling.js');
        const rolling = await evaluateRolling(options, {
          dates:
            typeof opts.rolling === 'string'
              ? wholeNumber(opts.rolling, '--rolling')
              : ROLLING_DEFAULTS.dates,
          ...(opts.step !== undefined ? { stepDays: wholeNumber(opts.step, '--step') } : {}),
        });
        process.stdout.write(flags.json ? JSON.stringify(rolling) + '\n' : renderRollingText(rolling));
        return EXIT.success;
      }
      report = await evaluateModel(options);
    } finally {
      await wh.close();
    }
    const reportPath = opts.out ? writeHtmlReport(report, opts.out) : undefined;
    if (flags.json) {
      process.stdout.write(JSON.stringify(reportPath ? { ...report, reportPath } : report) + '\n');
    } else {
      process.stdout.write(renderText(report));
      if (reportPath) process.stdout.write(`\nreport: ${reportPath}\n`);
    }
    return EXIT.success;
  } catch (err) {
    return reportError(err, flags);
  }
}

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description(
      'backtest a model: score it as of a past date and measure conversion by tier within a horizon',
    )
    .argument('<model>', 'model name (models/<model>.sql); it must declare its as_of param')
    .option('--horizon <days>', 'a conversion counts when it happens within this many days of the as-of date')
    .option(
      '--as-of <date>',
      'score as of this date, YYYY-MM-DD (default: HORIZON days before the newest data)',
    )
    .option('--conversions <table>', 'conversions: key column(s) and converted_at', 'app.conversions')
    .option(
      '--activity <table>',
      'events (key column and ts) for the "any activity in 30 days" baseline',
      'app.events',
    )
    .option(
      '--vs-vars <json>',
      'a second parameter set to compare side by side, e.g. \'{"hot_threshold": 80}\'',
    )
    .option('--vs-model <name>', 'another model (or version of it) to compare side by side')
    .option('--sync <name>', "take params from this sync's config (default: the sync named like the model)")
    .option('--out <file>', 'also write the HTML report to this file')
    .option('--tier-column <column>', 'the tier column (default: tier or *_tier)')
    .option('--score-column <column>', 'the score column (default: score or *_score)')
    .option(
      '--rolling [dates]',
      `backtest over a series of as-of dates (default ${ROLLING_DEFAULTS.dates}) and report each tier's median lift and range`,
    )
    .option(
      '--step <days>',
      `days between the as-of dates of --rolling (default ${ROLLING_DEFAULTS.stepDays})`,
    )
    .option(
      '--flag-column <column>',
      'the qualified flag (default: is_pql, is_pqa; else every tier above the lowest)',
    )
    .action(async (modelName: string, opts: EvaluateFlags, cmd: Command) => {
      const flags = globalFlags(cmd);
      initCli(flags);
      process.exitCode = await runEvaluate(modelName, opts, flags);
    });
}
