/**
 * Who holds a DuckDB file. DuckDB allows one process per database file and reports only the holder's PID
 * ("Conflicting lock is held in /usr/bin/node (PID 1234)"); the state `locks` table cannot be read meanwhile
 * (DuckDB refuses even a READ_ONLY open while another process has the file). On Linux the PID is enough to name
 * the command and since when it runs, which is what a person deciding whether to wait needs.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { PqlsyncError } from '../errors/pqlsync-error.js';

/** Adds the holder process's command and start time to a DuckDB STATE_LOCK_HELD error, when they can be read. */
export function explainLockHolder(err: PqlsyncError): PqlsyncError {
  if (err.code !== 'STATE_LOCK_HELD') return err;
  const m = /\(PID (\d+)\)/.exec(err.message);
  if (!m) return err;
  const pid = Number(m[1]);
  const info = describeProcess(pid);
  const what = info
    ? `pid ${pid} on ${hostname()}: \`${info.command}\`${info.startedAt ? `, running since ${info.startedAt.toISOString()}` : ''}`
    : `pid ${pid} on ${hostname()}`;
  return new PqlsyncError('STATE_LOCK_HELD', `${err.message.split(': IO Error')[0]}, held by ${what}`, {
    location: err.location,
    hint: 'DuckDB allows one process per file: wait for that run to finish (cron and Airflow can treat exit 4 as "skip")',
    details: { ...(err.details ?? {}), pid, ...(info ? { command: info.command } : {}) },
    cause: err,
  });
}

export interface ProcessInfo {
  command: string;
  startedAt?: Date;
}

/** The command line (pqlsync's own part when it is pqlsync) and start time of a process; Linux /proc only. */
export function describeProcess(pid: number): ProcessInfo | undefined {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
  const cli = argv.findIndex((a) => /(main\.[jt]s|pqlsync(\.js)?)$/.test(a));
  const command = (cli >= 0 ? ['pqlsync', ...argv.slice(cli + 1)] : argv).join(' ').slice(0, 200);
  return { command, ...startTime(pid) };
}

function startTime(pid: number): { startedAt?: Date } {
  try {
    // Field 22 of /proc/<pid>/stat is the start time in clock ticks after boot (USER_HZ, 100 on Linux).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!btime || !Number.isFinite(ticks)) return {};
    return { startedAt: new Date((Number(btime[1]) + ticks / 100) * 1000) };
  } catch {
    return {};
  }
}
