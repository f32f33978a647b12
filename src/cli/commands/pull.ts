/**
 * `pqlsync pull [sync...]`: reads back from the CRM what happened after the handoff (tasks, people, opportunities)
 * into the state schema's read-back tables, from each object's watermark on.
 */
import { Command } from 'commander';
import { EXIT, formatTable, globalFlags, initCli, loadProject, reportError } from '../cli-context.js';

export function registerPullCommand(program: Command): void {
  program
    .command('pull')
    .description("read tasks, conversions and opportunities back from the syncs' CRMs into the state schema")
    .argument(
      '[sync...]',
      'only the destinations of these syncs (default: every Salesforce and HubSpot sync)',
    )
    .action(async (syncs: string[], _opts: unknown, cmd: Command) => {
      const flags = globalFlags(cmd);
      initCli(flags);
      try {
        const loaded = await loadProject(flags, 'on demand');
        const [{ pullCrm }, { createWarehouse }] = await Promise.all([
          import('../../pull/pull-crm.js'),
          import('../../warehouse/create-warehouse.js'),
        ]);
        const wh = await createWarehouse(loaded);
        await wh.connect();
        try {
          const results = await pullCrm({ loaded, warehouse: wh, syncs });
          if (flags.json) {
            for (const r of results) process.stdout.write(JSON.stringify(r) + '\n');
          } else {
            const rows = results.flatMap((r) =>
              r.objects.map((o) => [r.destination, o.object, String(o.read), o.watermark ?? '']),
            );
            process.stdout.write(formatTable(['destination', 'object', 'read', 'watermark'], rows) + '\n');
            for (const r of results)
              if (r.error) process.stderr.write(`\n${r.destination}: ${r.error.message}\n`);
          }
          // A destination's config (a secret not set, a wrong object) is invalid config: exit 2, as run does.
          process.exitCode = results.some((r) => r.error?.kind === 'config')
            ? EXIT.invalid
            : results.some((r) => r.status === 'failed')
              ? EXIT.failed
              : EXIT.success;
        } finally {
          await wh.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, flags);
      }
    });
}
