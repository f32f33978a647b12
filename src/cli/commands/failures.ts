/**
 * `pqlsync failures [sync]`: the records the CRM refused (or that stayed retryable), from `<sync>__failures`: key,
 * the fields the CRM named, its reason code and message, attempts, first and last seen. Every run retries them.
 */
import { Command } from 'commander';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { fieldsOf, oneLine, reasonCode } from '../../state/failure-report.js';
import type { FailureRecord } from '../../state/state-store.js';
import { formatTable, globalFlags, initCli, loadProject, reportError } from '../cli-context.js';

/** The widest reason a table row shows; `--json` has them whole. */
const REASON_WIDTH = 100;

export function registerFailuresCommand(program: Command): void {
  program
    .command('failures')
    .description('list the records the CRM rejected, with its reasons (retried by every run)')
    .argument('[sync]', 'only this sync')
    .option('--limit <n>', 'at most this many per sync', '100')
    .action(async (sync: string | undefined, opts: { limit: string }, cmd: Command) => {
      const flags = globalFlags(cmd);
      initCli(flags);
      try {
        const loaded = await loadProject(flags, 'warehouse');
        const [{ createWarehouse }, { StateStore }] = await Promise.all([
          import('../../warehouse/create-warehouse.js'),
          import('../../state/state-store.js'),
        ]);
        const names = Object.keys(loaded.config.syncs);
        if (sync !== undefined && !loaded.config.syncs[sync]) {
          throw new PqlsyncError(
            'ARGS_INVALID',
            `no sync named '${sync}' in ${loaded.configPath} (syncs: ${names.join(', ') || 'none'})`,
          );
        }
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) {
          throw new PqlsyncError(
            'ARGS_INVALID',
            `--limit must be a whole number of 1 or more, got '${opts.limit}'`,
          );
        }
        const wh = await createWarehouse(loaded);
        await wh.connect();
        try {
          const store = new StateStore(wh, loaded.config.state.schema);
          const shown: FailureRecord[] = [];
          const totals = new Map<string, number>();
          for (const name of sync === undefined ? names : [sync]) {
            const all = await store.listFailures(name);
            totals.set(name, all.length);
            shown.push(...all.slice(0, limit));
          }
          if (flags.json) {
            for (const f of shown) {
              process.stdout.write(
                JSON.stringify({
                  sync: f.sync,
                  key: f.key,
                  fields: fieldsOf(f.reason),
                  code: reasonCode(f),
                  reason: f.reason,
                  attempts: f.attempts,
                  firstSeen: f.firstSeen.toISOString(),
                  lastSeen: f.lastSeen.toISOString(),
                  runId: f.runId,
                }) + '\n',
              );
            }
            return;
          }
          if (shown.length === 0) {
            process.stdout.write(
              `no failures${sync === undefined ? '' : ` for ${sync}`}: every record was applied\n`,
            );
            return;
          }
          const rows = shown.map((f) => [
            f.sync,
            f.key,
            fieldsOf(f.reason).join(', '),
            reasonCode(f),
            String(f.attempts),
            utc(f.firstSeen),
            utc(f.lastSeen),
            oneLine(f.reason, REASON_WIDTH),
          ]);
          process.stdout.write(
            formatTable(
              ['sync', 'key', 'fields', 'code', 'attempts', 'first seen (UTC)', 'last seen (UTC)', 'reason'],
              rows,
            ) + '\n',
          );
          for (const [name, total] of totals) {
            if (total > limit) {
              process.stdout.write(
                `${name}: ${limit} of ${total.toLocaleString('en-US')} shown; --limit ${total} or --json for all\n`,
              );
            }
          }
        } finally {
          await wh.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, flags);
      }
    });
}

function utc(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 19);
}
