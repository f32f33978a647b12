/**
 * The clock the scheduler's own timers run on (cron ticks, the shutdown grace period), and the next time a cron
 * expression matches. Injected so a test moves the scheduler's time without faking the process's timers, which
 * the runs it starts use for retry backoff, rate limiting and lock leases.
 *
 * Glossary:
 * - clock: `now`, `setTimeout`, `clearTimeout`; the system's by default.
 * - next match: the first instant after a given one at which a cron expression matches in its time zone (node-cron
 *   decides what matches; this only walks to it, skipping days, hours and minutes that cannot).
 */
import cron, { type ScheduledTask } from 'node-cron';

export interface SchedulerClock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process's clock and timers. */
export const systemClock: SchedulerClock = {
  now: () => new Date(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Node timers take at most 2^31-1 ms; a later tick is reached by waking up and arming again. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

interface LocalParts {
  month: number;
  day: number;
  weekday: number;
  hour: number;
  minute: number;
  second: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A cron expression in a time zone, and the walk to its next match. */
export class CronSchedule {
  private readonly task: ScheduledTask;
  private readonly fields: ReturnType<typeof cron.parse>;
  private readonly format: Intl.DateTimeFormat;

  constructor(expression: string, timezone: string) {
    // Never started: node-cron only answers whether an instant matches.
    this.task = cron.createTask(expression, () => undefined, { timezone });
    this.fields = cron.parse(expression);
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  private local(at: Date): LocalParts {
    const parts = Object.fromEntries(this.format.formatToParts(at).map((p) => [p.type, p.value]));
    return {
      month: Number(parts.month),
      day: Number(parts.day),
      weekday: WEEKDAYS.indexOf(String(parts.weekday)),
      hour: Number(parts.hour),
      minute: Number(parts.minute),
      second: Number(parts.second),
    };
  }

  /** The first instant after `after` (whole seconds) at which the expression matches; undefined past 5 years. */
  nextMatch(after: Date): Date | undefined {
    const f = this.fields;
    const numeric = (values: Array<number | string>) => values.every((v) => typeof v === 'number');
    const dayFieldsNumeric = numeric(f.dayOfMonth) && numeric(f.dayOfWeek);
    let t = Math.floor(after.getTime() / 1000) * 1000 + 1000;
    const limit = after.getTime() + 5 * 366 * 86_400_000;
    while (t <= limit) {
      const p = this.local(new Date(t));
      const sinceMidnight = p.hour * 3600 + p.minute * 60 + p.second;
      // Skip what cannot match: the rest of the day, hour or minute (a DST shift lands near; the walk goes on).
      const dayOff =
        !f.month.includes(p.month) ||
        (dayFieldsNumeric &&
          (!(f.dayOfMonth as number[]).includes(p.day) || !(f.dayOfWeek as number[]).includes(p.weekday)));
      if (dayOff) t += (86_400 - sinceMidnight) * 1000;
      else if (!f.hour.includes(p.hour)) t += (3600 - p.minute * 60 - p.second) * 1000;
      else if (!f.minute.includes(p.minute)) t += (60 - p.second) * 1000;
      else if (!f.second.includes(p.second) || !this.task.match(new Date(t))) t += 1000;
      else return new Date(t);
    }
    return undefined;
  }

  /** Frees node-cron's record of the (never started) task. */
  destroy(): void {
    void this.task.destroy();
  }
}
