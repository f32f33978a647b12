/**
 * Logs (pino) on stderr with secrets scrubbed from every message and field: JSON lines, one object per line, or, on a
 * terminal, human lines (printed above the progress bar while one is drawn). `PQLSYNC_LOG_LEVEL` sets the level
 * (Default: info; `silent` turns logs off); `PQLSYNC_LOG_FORMAT` = json | human overrides the choice.
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { scrubSecrets, scrubValue } from '../errors/secrets.js';

export type { Logger };

export const LOG_FORMATS = ['json', 'human'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** pino, loaded when the first logger is made: a command's `--help` makes none. */
const loadPino = (): typeof import('pino') => createRequire(import.meta.url)('pino') as typeof import('pino');

export function createLogger(
  options: { level?: string; destination?: NodeJS.WritableStream; format?: LogFormat } = {},
): Logger {
  const level = options.level ?? process.env.PQLSYNC_LOG_LEVEL ?? 'info';
  const destination = options.destination ?? (options.format === 'human' ? humanLogStream() : process.stderr);
  const pino = loadPino();
  return pino.pino(
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
    destination as import('pino').DestinationStream,
  );
}

/** JSON logs on a pipe or file, human lines on a terminal, unless `PQLSYNC_LOG_FORMAT` says otherwise. */
export function defaultLogFormat(json: boolean, env: NodeJS.ProcessEnv = process.env): LogFormat {
  const forced = env.PQLSYNC_LOG_FORMAT;
  if (forced === 'json' || forced === 'human') return forced;
  return json || !process.stderr.isTTY ? 'json' : 'human';
}

const toStderr = (line: string): void => {
  process.stderr.write(line);
};
let humanSink: (line: string) => void = toStderr;

/** Sends human log lines somewhere else while it is set (a progress bar prints them above itself). */
export function setHumanLogSink(sink: ((line: string) => void) | undefined): void {
  humanSink = sink ?? toStderr;
}

/** A stream for pino that turns its JSON lines into human lines for the current sink. */
export function humanLogStream(): Writable {
  let rest = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line) humanSink(formatHumanLog(line) + '\n');
      done();
    },
  });
}

const HIDDEN = new Set(['level', 'time', 'pid', 'msg', 'sync']);

/** One pino JSON line as a person reads it: `HH:MM:SS level sync: message key=value …`. */
export function formatHumanLog(jsonLine: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const level = String(entry.level ?? '').padEnd(5);
  const sync = typeof entry.sync === 'string' ? `${entry.sync}: ` : '';
  const fields = Object.entries(entry)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${humanValue(v)}`);
  return [`${time} ${level} ${sync}${String(entry.msg ?? '')}`, ...fields].join(' ');
}

function humanValue(v: unknown): string {
  if (v && typeof v === 'object' && 'message' in v)
    return JSON.stringify((v as { message: unknown }).message);
  if (typeof v === 'string') return /^[\w.:/@-]*$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
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
