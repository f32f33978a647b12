/**
 * Business hours: a calendar (IANA time zone, working days, daily hours, holidays) and the instant a span of
 * working time after a given instant ends. Local wall-clock times are turned into instants with Intl (no library),
 * so daylight-saving changes move the hours with the zone.
 *
 * Glossary:
 * - working time: minutes inside the hours of a working day (a listed weekday that is not a holiday).
 * - working day span (`d` in an SLA): the length of one working day's hours (8 hours for 09:00-17:00).
 */
import type { CalendarConfig, Weekday } from '../config/config-schema.js';

const MINUTE = 60_000;
/** Searching past this many days for working time means the calendar has none (every day a holiday). */
const MAX_DAYS = 3700;

interface LocalParts {
  date: string;
  weekday: Weekday;
  /** Minutes since local midnight. */
  minutes: number;
}

export class BusinessCalendar {
  private readonly days: ReadonlySet<Weekday>;
  private readonly holidays: ReadonlySet<string>;
  private readonly openMin: number;
  private readonly closeMin: number;
  private readonly parts: Intl.DateTimeFormat;

  constructor(
    config: Pick<CalendarConfig, 'days' | 'hours' | 'holidays'>,
    readonly timeZone: string,
  ) {
    this.days = new Set(config.days);
    this.holidays = new Set(config.holidays);
    const [open = '09:00', close = '17:00'] = config.hours.split('-');
    this.openMin = clockMinutes(open);
    this.closeMin = clockMinutes(close);
    this.parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  /** Milliseconds of working time in one working day. */
  get dayMs(): number {
    return (this.closeMin - this.openMin) * MINUTE;
  }

  isWorkingDay(date: string, weekday: Weekday): boolean {
    return this.days.has(weekday) && !this.holidays.has(date);
  }

  /** True when `at` falls inside working hours (the closing minute included). */
  isWorkingTime(at: Date): boolean {
    const p = this.local(at);
    const exact = p.minutes + (at.getTime() % MINUTE) / MINUTE;
    return this.isWorkingDay(p.date, p.weekday) && exact >= this.openMin && exact <= this.closeMin;
  }

  /** The instant `ms` of working time after `from` (a start outside the hours waits for the next opening). */
  add(from: Date, ms: number): Date {
    let remaining = Math.max(0, ms);
    let at = from.getTime();
    for (let i = 0; i < MAX_DAYS; i++) {
      const p = this.local(new Date(at));
      if (this.isWorkingDay(p.date, p.weekday)) {
        const open = this.instant(p.date, this.openMin);
        const close = this.instant(p.date, this.closeMin);
        if (at < open) at = open;
        if (at < close || (at === close && remaining === 0)) {
          if (remaining <= close - at) return new Date(at + remaining);
          remaining -= close - at;
        }
      }
      at = this.instant(nextDate(p.date), 0);
    }
    throw new Error(`the business calendar has no working time in ${MAX_DAYS} days (days, hours, holidays)`);
  }

  /**
   * The working time between two instants, in ms (0 when `to` is not after `from`): the report's time to
   * completion in business hours. Spans longer than the search limit count its first MAX_DAYS days.
   */
  workingMs(from: Date, to: Date): number {
    const end = to.getTime();
    let at = from.getTime();
    let total = 0;
    for (let i = 0; i < MAX_DAYS && at < end; i++) {
      const p = this.local(new Date(at));
      if (this.isWorkingDay(p.date, p.weekday)) {
        const open = Math.max(at, this.instant(p.date, this.openMin));
        const close = Math.min(end, this.instant(p.date, this.closeMin));
        if (close > open) total += close - open;
      }
      at = this.instant(nextDate(p.date), 0);
    }
    return total;
  }

  private local(at: Date): LocalParts {
    const all = this.parts.formatToParts(at);
    const pick = (type: string) => all.find((x) => x.type === type)?.value ?? '';
    return {
      date: `${pick('year')}-${pick('month')}-${pick('day')}`,
      weekday: pick('weekday').toLowerCase().slice(0, 3) as Weekday,
      minutes: Number(pick('hour')) * 60 + Number(pick('minute')),
    };
  }

  /** The instant of a local date and minute in the zone (a time skipped by a DST change moves forward). */
  private instant(date: string, minutes: number): number {
    const [y = 1970, m = 1, d = 1] = date.split('-').map(Number);
    const wall = Date.UTC(y, m - 1, d) + minutes * MINUTE;
    // The zone's offset at the guess, then once more at the corrected instant (DST changes).
    let guess = wall - this.offset(wall);
    guess = wall - this.offset(guess);
    return guess;
  }

  /** Local wall time minus UTC at `at`, in ms. */
  private offset(at: number): number {
    const all = this.parts.formatToParts(new Date(at));
    const n = (type: string) => Number(all.find((x) => x.type === type)?.value ?? 0);
    const wall = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
    return wall - Math.floor(at / 1000) * 1000;
  }
}

function clockMinutes(hhmm: string): number {
  const [h = 0, m = 0] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

function nextDate(date: string): string {
  const [y = 1970, m = 1, d = 1] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}
