/**
 * Runs async tasks one at a time, in call order, so statements on one warehouse session never interleave and a
 * failed statement never poisons the next. Used by the adapters that hold one session (Postgres' main client,
 * BigQuery's session, Snowflake's connection).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every queued task has settled. */
  async drain(): Promise<void> {
    await this.tail.catch(() => undefined);
  }
}
