/**
 * `pqlsync runs [sync]`: the latest runs from the state schema's runs table.
 */
import { Command } from 'commander';
import { StateStore } from '../../state/state-store.js';
import { createWarehouse } from '../../warehouse/create-warehouse.js';
import { formatTable, globalFlags, initCli, loadProject, reportError } from '../cli-context.js';

export function registerRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('list recent runs with their status and counts')
    .argument('[sync]', 'only this sync')
    .option('--limit <n>', 'how many runs', '20')
    .action(async (sync: string | undefined, opts: { limit: string }, cmd: Command) => {
      const flags = globalFlags(cmd);
      initCli(flags);
      try {
        const loaded = loadProject(flags);
        const wh = await createWarehouse(loaded);
        await wh.connect();
        try {
          const runs = await new StateStore(wh, loaded.config.state.schema).listRuns(
            sync,
            Number(opts.limit) || 20,
          );
          if (flags.json) {
            for (const r of runs) process.stdout.write(JSON.stringify(r) + '\n');
          } else {
            const rows = runs.map((r) => [
              r.startedAt.toISOString().replace('T', ' ').slice(0, 19),
              r.sync,
              r.status,
              String(r.counts.added),
              String(r.counts.changed),
              String(r.counts.removed),
              String(r.counts.applied),
              String(r.counts.rejected),
              String(r.apiCalls),
              r.durationMs === null ? '' : `${(r.durationMs / 1000).toFixed(1)}s`,
              (r.error ?? '').split('\n')[0]!.slice(0, 60),
            ]);
            process.stdout.write(
              formatTable(
                [
                  'started (UTC)',
                  'sync',
                  'status',
                  'added',
                  'changed',
                  'removed',
                  'applied',
                  'rejected',
                  'api calls',
                  'time',
                  'error',
                ],
                rows,
              ) + '\n',
            );
          }
        } finally {
          await wh.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, flags);
      }
    });
}
