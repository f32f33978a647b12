/**
 * `pqlsync runs [sync]`: the latest runs from the state schema's runs table.
 */
import { Command } from 'commander';
import { percent } from '../../runner/flag-rate-text.js';
import { groupLabel, groupRejections, type RejectionGroup } from '../../state/failure-report.js';
import type { RunRecord, StateStore } from '../../state/state-store.js';
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
        const loaded = await loadProject(flags, 'warehouse');
        const [{ createWarehouse }, { StateStore }] = await Promise.all([
          import('../../warehouse/create-warehouse.js'),
          import('../../state/state-store.js'),
        ]);
        const wh = await createWarehouse(loaded);
        await wh.connect();
        try {
          const store = new StateStore(wh, loaded.config.state.schema);
          const runs = await store.listRuns(sync, Number(opts.limit) || 20);
          const top = await topReasons(store, runs);
          if (flags.json) {
            for (const r of runs) {
              const reason = top.get(r.runId);
              process.stdout.write(JSON.stringify(reason ? { ...r, topReason: reason } : r) + '\n');
            }
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
              r.flagRate === null ? '' : percent(r.flagRate),
              String(r.apiCalls),
              r.durationMs === null ? '' : `${(r.durationMs / 1000).toFixed(1)}s`,
              top.has(r.runId) ? groupLabel(top.get(r.runId)!) : '',
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
                  'flagged',
                  'api calls',
                  'time',
                  'top reason',
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

/**
 * Each listed run's most common rejection reason, from the failures it saw last (a rejection a later run retried
 * belongs to that run now, so older runs show none).
 */
async function topReasons(
  store: StateStore,
  runs: readonly RunRecord[],
): Promise<Map<string, RejectionGroup>> {
  const out = new Map<string, RejectionGroup>();
  const bySync = new Map<string, string[]>();
  for (const r of runs) {
    if (r.counts.rejected > 0) bySync.set(r.sync, [...(bySync.get(r.sync) ?? []), r.runId]);
  }
  for (const [sync, runIds] of bySync) {
    const failures = await store.listFailures(sync, runIds);
    for (const runId of runIds) {
      const [first] = groupRejections(failures.filter((f) => f.runId === runId));
      if (first) out.set(runId, first);
    }
  }
  return out;
}
