/**
 * A clock a test moves by hand, for code that takes an injected clock (the scheduler's SchedulerClock). Only
 * the code it is given to sees it: the process's own timers (retry backoff, rate limiters, lock leases of the
 * runs it starts) keep real time.
 */
import type { SchedulerClock } from '../../src/scheduler/scheduler-clock.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class ManualClock implements SchedulerClock {
  private t: number;
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(start: Date) {
    this.t = start.getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  /** Moves time forward by `ms`, firing due timers in order; time stands at each timer's due time as it fires. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const [due] = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id);
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
      // Let what the timer started take its first steps before time moves on.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.t = end;
  }
}
