/**
 * JSON logs (pino) on stderr, one object per line, with secrets scrubbed from every message and field.
 * `PQLSYNC_LOG_LEVEL` sets the level (Default: info; `silent` turns logs off).
 */
import pino, { type Logger } from 'pino';
import { scrubSecrets, scrubValue } from '../errors/secrets.js';

export type { Logger };

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.PQLSYNC_LOG_LEVEL ?? 'info';
  return pino(
    {
      level,
      base: { pid: process.pid },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : scrubValue(a)));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}

let shared: Logger | undefined;

/** The process-wide logger (created on first use). */
export function logger(): Logger {
  shared ??= createLogger();
  return shared;
}

/** Replaces the process-wide logger (the CLI sets the level from flags; tests silence it). */
export function setLogger(l: Logger): void {
  shared = l;
}
