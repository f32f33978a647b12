/**
 * Business-hours SLAs: working time skips nights, weekends and holidays, follows the zone across a daylight-saving
 * change, `d` is one working day's hours; a config names a bad zone or hours with its path.
 */
import { describe, expect, it } from 'vitest';
import { calendarSchema, routingSchema } from '../../../src/config/config-schema.js';
import { BusinessCalendar } from '../../../src/routing/calendar.js';
import { slaTimes } from '../../../src/routing/sla.js';

const ny = new BusinessCalendar(
  calendarSchema.parse({ time_zone: 'America/New_York', holidays: ['2026-12-25'] }),
  'America/New_York',
);
const at = (iso: string) => new Date(iso);
const hours = (n: number) => n * 3_600_000;

describe('BusinessCalendar', () => {
  it('counts working hours inside one day', () => {
    // Tuesday 10:00 EST + 4h = 14:00 EST (19:00Z)
    expect(ny.add(at('2026-12-01T15:00:00Z'), hours(4)).toISOString()).toBe('2026-12-01T19:00:00.000Z');
  });

  it('a PQL flagged on Friday evening is due Monday morning, not on Saturday', () => {
    // Friday 2026-12-04 19:00 EST (Sat 00:00Z) + 4 working hours = Monday 13:00 EST
    expect(ny.add(at('2026-12-05T00:00:00Z'), hours(4)).toISOString()).toBe('2026-12-07T18:00:00.000Z');
  });

  it('carries the rest of a span over the night and skips a holiday', () => {
    // Thursday 2026-12-24 16:30 EST + 1h: 30 minutes today, Friday 25th is a holiday, the rest Monday 09:30
    expect(ny.add(at('2026-12-24T21:30:00Z'), hours(1)).toISOString()).toBe('2026-12-28T14:30:00.000Z');
  });

  it('follows the zone across a daylight-saving change', () => {
    // Saturday 2026-03-07 → Monday 2026-03-09 09:00 EDT (13:00Z, not 14:00Z)
    expect(ny.add(at('2026-03-07T12:00:00Z'), hours(1)).toISOString()).toBe('2026-03-09T14:00:00.000Z');
    expect(ny.isWorkingTime(at('2026-03-09T13:00:00Z'))).toBe(true);
    expect(ny.isWorkingTime(at('2026-03-09T12:59:00Z'))).toBe(false);
  });

  it("measures the working time between two instants (the report's business hours)", () => {
    // Thursday 2026-12-24 16:00 EST to Monday 2026-12-28 10:00 EST: 1 h Thursday, the holiday and the weekend
    // skipped, 1 h Monday.
    expect(ny.workingMs(at('2026-12-24T21:00:00Z'), at('2026-12-28T15:00:00Z'))).toBe(hours(2));
    // Inside one day, and nothing when the end is not after the start.
    expect(ny.workingMs(at('2026-12-01T15:00:00Z'), at('2026-12-01T16:30:00Z'))).toBe(hours(1.5));
    expect(ny.workingMs(at('2026-12-01T16:30:00Z'), at('2026-12-01T15:00:00Z'))).toBe(0);
    // add and workingMs agree.
    const from = at('2026-12-04T20:00:00Z');
    expect(ny.workingMs(from, ny.add(from, hours(11)))).toBe(hours(11));
  });

  it('SLA durations count working time with a calendar and clock time without one', () => {
    const friday = at('2026-12-04T21:00:00Z'); // 16:00 EST
    const sla = { due_in: '1h', reminder_in: '30m', priority: 'high' as const };
    expect(slaTimes(friday, sla, 'UTC', ny)).toMatchObject({
      dueAt: at('2026-12-04T22:00:00Z'),
      reminderAt: at('2026-12-04T21:30:00Z'),
      dueDate: '2026-12-04',
    });
    const late = at('2026-12-04T21:45:00Z'); // 16:45 EST: 15 minutes left on Friday
    expect(slaTimes(late, sla, 'UTC', ny).dueAt).toEqual(at('2026-12-07T14:45:00Z'));
    expect(slaTimes(late, sla, 'UTC').dueAt).toEqual(at('2026-12-04T22:45:00Z'));
    // 1d = one working day's eight hours
    expect(slaTimes(late, { ...sla, due_in: '1d' }, 'UTC', ny).dueAt).toEqual(at('2026-12-07T21:45:00Z'));
  });

  it('refuses a zone Intl does not know and hours that end before they start, naming the field', () => {
    const bad = routingSchema.safeParse({ calendar: { time_zone: 'Mars/Olympus', hours: '17:00-09:00' } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['calendar.time_zone', "'Mars/Olympus' is not an IANA time zone (e.g. Europe/Berlin)"],
      ['calendar.hours', 'the hours must end after they start, e.g. 09:00-17:00'],
    ]);
  });
});
