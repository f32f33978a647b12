/**
 * SLA times of a task: due time, due date (in the sync's time zone), reminder and priority, from the tier's
 * SLA, an injected clock and, when the routing has one, the business calendar (calendar.ts).
 */
import type { RoutingConfig, TaskPriority } from '../config/config-schema.js';
import type { BusinessCalendar } from './calendar.js';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration like `30m`, `4h`, `1.5d` (validated by the config schema). */
export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(m|h|d)$/.exec(text.trim());
  if (!m?.[1] || !m[2]) throw new Error(`not a duration: '${text}' (use e.g. 30m, 4h, 2d)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

export interface SlaTimes {
  dueAt: Date;
  /** `YYYY-MM-DD` of `dueAt` in `timeZone`. */
  dueDate: string;
  reminderAt: Date;
  priority: TaskPriority;
}

/**
 * Due time, due date and reminder of a task routed at `now`. With a business calendar the durations count working
 * time (`4h` = four working hours; `1d` = one working day's hours) and the due date is the calendar's; without one
 * they count clock time.
 */
export function slaTimes(
  now: Date,
  sla: RoutingConfig['sla'][string],
  timeZone = 'UTC',
  calendar?: BusinessCalendar,
): SlaTimes {
  const after = (text: string) =>
    calendar ? calendar.add(now, businessMs(text, calendar)) : new Date(now.getTime() + durationMs(text));
  const dueAt = after(sla.due_in);
  const reminderAt = sla.reminder_in ? after(sla.reminder_in) : dueAt;
  return {
    dueAt,
    dueDate: localDate(dueAt, calendar?.timeZone ?? timeZone),
    reminderAt,
    priority: sla.priority,
  };
}

/** Working milliseconds of a duration: `d` is one working day's hours, `h` and `m` are clock units. */
function businessMs(text: string, calendar: BusinessCalendar): number {
  const days = /^(\d+(?:\.\d+)?)\s*d$/.exec(text.trim());
  return days?.[1] ? Math.round(Number(days[1]) * calendar.dayMs) : durationMs(text);
}

/** The calendar date of an instant in an IANA time zone, as `YYYY-MM-DD`. */
export function localDate(at: Date, timeZone = 'UTC'): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}
