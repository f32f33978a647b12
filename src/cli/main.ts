#!/usr/bin/env node
/**
 * The pqlsync CLI: argv → library call → exit code. Each command lives in `commands/`.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerCompileCommand } from './commands/compile.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerEvaluateCommand } from './commands/evaluate.js';
import { registerFailuresCommand } from './commands/failures.js';
import { registerInitCommand } from './commands/init.js';
import { registerPullCommand } from './commands/pull.js';
import { registerRenameSyncCommand } from './commands/rename-sync.js';
import { registerReportCommand } from './commands/report.js';
import { registerRunCommands } from './commands/run.js';
import { registerRunsCommand } from './commands/runs.js';
import { registerSandboxCommand } from './commands/sandbox.js';
import { registerScheduleCommand } from './commands/schedule.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command('pqlsync')
    .description('Score product-qualified leads in your warehouse and sync the changes to your CRM')
    .version(pkg.version)
    .option('--config <path>', 'project config (default: config/pqlsync.yml, or $PQLSYNC_CONFIG)')
    .option('--vars <json>', 'override model params, e.g. \'{"lookback_days": 14}\'')
    .option('--json', 'print one JSON object per sync on stdout; logs stay on stderr')
    .option(
      '--log-level <level>',
      'trace | debug | info | warn | error | silent (default: info, warn with --json)',
    )
    .showHelpAfterError()
    // A command's --help lists --config, --vars, --json and --log-level too.
    .configureHelp({ showGlobalOptions: true })
    .exitOverride((err) => {
      // commander's own usage errors (unknown option, missing argument) are invalid arguments: exit 2.
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  registerInitCommand(program);
  registerCompileCommand(program);
  registerRunCommands(program);
  registerRunsCommand(program);
  registerFailuresCommand(program);
  registerRenameSyncCommand(program);
  registerScheduleCommand(program);
  registerEvaluateCommand(program);
  registerPullCommand(program);
  registerReportCommand(program);
  registerDemoCommand(program);
  registerSandboxCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
