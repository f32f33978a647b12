/**
 * Small pieces the session-bound adapters share (Postgres' main client, BigQuery's session, Snowflake's
 * connection).
 *
 * - SerialQueue: runs statements one at a time in call order, so they never interleave on one session and a failed
 *   statement never poisons the next.
 * - SessionTransaction: `begin` ... `commit` on the adapter's one session; a nested call joins the open one.
 * - quoteParts: quotes a dotted name part by part.
 */
import type { WarehouseAdapter } from './warehouse-adapter.js';

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

export class SessionTransaction {
  private open = false;

  constructor(private readonly statements: { begin: string; commit: string; rollback: string }) {}

  async run<T>(adapter: WarehouseAdapter, fn: (tx: WarehouseAdapter) => Promise<T>): Promise<T> {
    if (this.open) return fn(adapter);
    this.open = true;
    try {
      await adapter.query(this.statements.begin);
      const out = await fn(adapter);
      await adapter.query(this.statements.commit);
      return out;
    } catch (err) {
      await adapter.query(this.statements.rollback).catch(() => undefined);
      throw err;
    } finally {
      this.open = false;
    }
  }
}

export function quoteParts(name: string, quote: (part: string) => string): string {
  return name.split('.').map(quote).join('.');
}
