/**
 * The walk to a cron expression's next match (the scheduler arms its own timer for it on an injected clock):
 * node-cron decides what matches; the walk must land on the first match, in the sync's time zone, across DST.
 */
import { describe, expect, it } from 'vitest';
import { CronSchedule } from '../../../src/scheduler/scheduler-clock.js';

const FROM = new Date('2025-03-03T10:01:00Z'); // a Monday

describe('CronSchedule.nextMatch', () => {
  it.each([
    ['*/5 * * * *', 'UTC', '2025-03-03T10:05:00.000Z'],
    ['* * * * * *', 'UTC', '2025-03-03T10:01:01.000Z'],
    ['0 9 * * *', 'America/New_York', '2025-03-03T14:00:00.000Z'],
    ['15 */4 * * 1-5', 'Asia/Kolkata', '2025-03-03T10:45:00.000Z'],
    ['0 9 1 1 *', 'Europe/Berlin', '2026-01-01T08:00:00.000Z'],
    ['0 9 29 2 *', 'UTC', '2028-02-29T09:00:00.000Z'],
    // 02:30 does not exist in New York on 2025-03-09 (clocks go from 02:00 to 03:00): the next Sunday's, in EDT.
    ['30 2 * * 0', 'America/New_York', '2025-03-16T06:30:00.000Z'],
  ])('%s in %s after 2025-03-03T10:01Z is %s', (expression, zone, want) => {
    expect(new CronSchedule(expression, zone).nextMatch(FROM)?.toISOString()).toBe(want);
  });

  it('is strictly after the given instant, even on a match', () => {
    const at = new Date('2025-03-03T10:05:00Z');
    expect(new CronSchedule('*/5 * * * *', 'UTC').nextMatch(at)?.toISOString()).toBe(
      '2025-03-03T10:10:00.000Z',
    );
  });
});
