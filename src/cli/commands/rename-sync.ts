/**
 * `pqlsync rename-sync <old> <new>`: after renaming a sync in the config, moves its state to the new name so the
 * next run goes on where the old one stopped (see src/state/rename-sync.ts).
 */
import { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { globalFlags, initCli, loadProject, reportError } from '../cli-context.js';

export function registerRenameSyncCommand(program: Command): void {
  program
    .command('rename-sync')
    .description("move a sync's state (snapshot, failures, runs, tasks) to its new name after a rename")
    .argument('<old>', 'the name the state was written under (no longer in the config)')
    .argument('<new>', 'the name in the config now')
    .action(async (from: string, to: string, _opts: unknown, cmd: Command) => {
      const flags = globalFlags(cmd);
      initCli(flags);
      try {
        const loaded = await loadProject(flags);
        const [{ identifierPart }, { renameSyncState }, { StateStore }, { createWarehouse }] =
          await Promise.all([
            import('../../config/config-schema.js'),
            import('../../state/rename-sync.js'),
            import('../../state/state-store.js'),
            import('../../warehouse/create-warehouse.js'),
          ]);
        const syncs = loaded.config.syncs;
        for (const name of [from, to]) {
          if (!identifierPart.test(name))
            throw new PqlsyncError('ARGS_INVALID', `'${name}' cannot be a sync name`, {
              hint: 'a sync name is a letter or _ then letters, digits and _',
            });
        }
        if (from === to) throw new PqlsyncError('ARGS_INVALID', `the old and new names are both '${from}'`);
        if (!syncs[to]) {
          throw new PqlsyncError('ARGS_INVALID', `no sync named '${to}' in ${loaded.configPath}`, {
            hint: `rename the sync in the config first, then move its state (syncs: ${Object.keys(syncs).join(', ') || 'none'})`,
          });
        }
        if (syncs[from]) {
          throw new PqlsyncError(
            'ARGS_INVALID',
            `sync '${from}' is still in ${loaded.configPath}, so its state stays where it is`,
            { hint: `rename it to '${to}' in the config first` },
          );
        }
        const wh = await createWarehouse(loaded);
        await wh.connect();
        try {
          const store = new StateStore(wh, loaded.config.state.schema);
          const r = await renameSyncState(store, {
            from,
            to,
            runId: randomUUID(),
            leaseSeconds: loaded.config.scheduler?.lock_lease_seconds ?? 60,
          });
          if (flags.json) process.stdout.write(JSON.stringify(r) + '\n');
          else
            process.stdout.write(
              `moved the state of sync ${from} to ${to}: ${r.snapshotRows} synced records, ${r.failures} failures, ` +
                `${r.runs} runs, ${r.taskLog} task_log rows, ${r.routeState} round-robin cursors\n`,
            );
        } finally {
          await wh.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, flags);
      }
    });
}
