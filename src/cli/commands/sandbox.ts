/**
 * `pqlsync sandbox`: the local Salesforce and HubSpot APIs and their page, on 127.0.0.1, until Ctrl-C.
 */
import { Command } from 'commander';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { globalFlags, initCli, reportError } from '../cli-context.js';

interface SandboxFlags {
  port?: string;
  token?: string;
  state?: string;
  seed?: string;
}

export function registerSandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description(
      'serve local Salesforce (/services/) and HubSpot (/crm/) APIs and a page showing their records',
    )
    .option(
      '--port <port>',
      'port on 127.0.0.1; 0 picks a free one (default: the port of $PQLSYNC_SANDBOX_URL, else 4010)',
    )
    .option('--token <token>', 'bearer token (default: $PQLSYNC_SANDBOX_TOKEN, else random)')
    .option('--state <file>', 'keep the CRM state in this JSON file across restarts')
    .option('--seed <n>', 'seed for ids and probabilistic faults')
    .action(async (opts: SandboxFlags, cmd: Command) => {
      const flags = globalFlags(cmd);
      initCli(flags);
      try {
        // A demo directory's .env names the URL its config uses: serve on that port by default.
        const envPort = process.env.PQLSYNC_SANDBOX_URL ? new URL(process.env.PQLSYNC_SANDBOX_URL).port : '';
        const portText = opts.port ?? (envPort || '4010');
        const port = Number(portText);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          throw new PqlsyncError(
            'ARGS_INVALID',
            `--port must be a port number from 0 to 65535, got '${portText}'`,
          );
        }
        const seed = opts.seed === undefined ? undefined : Number(opts.seed);
        if (seed !== undefined && !Number.isInteger(seed)) {
          throw new PqlsyncError('ARGS_INVALID', `--seed must be a whole number, got '${opts.seed}'`);
        }
        const token = opts.token ?? process.env.PQLSYNC_SANDBOX_TOKEN;
        const { formatSandboxBanner, startSandbox } = await import('../../sandbox/sandbox-server.js');
        const running = await startSandbox({
          port,
          ...(token ? { token } : {}),
          ...(opts.state ? { statePath: opts.state } : {}),
          ...(seed !== undefined ? { seed } : {}),
        });
        process.stdout.write(
          flags.json
            ? JSON.stringify({
                url: running.url,
                token: running.token,
                statePath: running.statePath ?? null,
              }) + '\n'
            : formatSandboxBanner(running) + '\n',
        );
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            void running.close().then(resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      } catch (err) {
        process.exitCode = reportError(err, flags);
      }
    });
}
