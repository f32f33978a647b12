/**
 * The one batch writer every destination shares: re-chunks the change stream to the destination's batch size,
 * keeps to its rate limit, retries passing failures with backoff and jitter, splits batches the destination
 * refused whole, and hands each batch's outcomes to `commit` (which advances the snapshot) before the next
 * batch's outcomes. It returns a result and never throws for a record's or a batch's failure.
 *
 * Transport failures (DESTINATION_UNREACHABLE: no answer came back) say nothing about a batch's records: the
 * whole batch is retried, never split and never rejected, and `maxAttempts` of them in a row, across all
 * batches, open the circuit breaker: the run stops with what was committed (the next run sends the rest).
 */
import type Bottleneck from 'bottleneck';
import { createRequire } from 'node:module';
import pLimit from 'p-limit';
import pRetry, { AbortError } from 'p-retry';
import { PqlsyncError, toPqlsyncError } from '../errors/pqlsync-error.js';
import type {
  Change,
  Destination,
  DestinationCapabilities,
  RecordOutcome,
  SyncTarget,
} from './destination.js';

export interface RetryPolicy {
  /** Tries per batch, the first included. (Default: 5) */
  maxAttempts: number;
  /** (Default: 500) */
  initialDelayMs: number;
  /** (Default: 30,000) */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 500, maxDelayMs: 30_000 };

export interface BatchWriterOptions {
  destination: Destination;
  target: SyncTarget;
  capabilities: DestinationCapabilities;
  retry?: Partial<RetryPolicy>;
  /** Called once per written batch, in sequence, with one outcome per change of the batch. */
  commit: (changes: Change[], outcomes: RecordOutcome[]) => Promise<void>;
  /** Called after each commit with running totals (progress bars). */
  onProgress?: (done: number) => void;
  /**
   * Graceful stop (the scheduler's SIGTERM): once aborted, no new batch is dispatched; batches already in flight
   * finish and commit. (Default: none)
   */
  signal?: AbortSignal;
  /**
   * Hard stop (the grace period after SIGTERM is over): once aborted, the writer stops waiting for requests in
   * flight; their outcomes are never committed, so the next run sends those batches again. Commits already
   * under way finish. (Default: none)
   */
  cancel?: AbortSignal;
}

export interface BatchWriterResult {
  applied: number;
  rejected: number;
  /** Changes still retryable after the last try; recorded as failures. */
  retryable: number;
  /** Changes the CRM can never take (a converted Lead): kept in the snapshot, not failures. Absent when none. */
  skipped?: number;
  /** Changes never attempted because the run stopped. */
  notAttempted: number;
  /** The error that stopped the run (auth, daily limit...), if any. */
  stopError?: PqlsyncError;
  /** True when `signal` stopped the writer before the stream ended. */
  aborted?: boolean;
}

export async function writeChanges(
  batches: AsyncIterable<Change[]>,
  options: BatchWriterOptions,
): Promise<BatchWriterResult> {
  const { destination, target, capabilities } = options;
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const size = Math.max(1, capabilities.batchSize);
  // Loaded only for a destination with a rate limit (a file destination has none; a run saved its load time).
  const limiter = capabilities.rateLimit
    ? new (createRequire(import.meta.url)('bottleneck') as typeof Bottleneck)({
        reservoir: capabilities.rateLimit.requests,
        reservoirRefreshAmount: capabilities.rateLimit.requests,
        reservoirRefreshInterval: capabilities.rateLimit.perMs,
      })
    : undefined;
  const limit = pLimit(Math.max(1, capabilities.concurrency ?? 1));
  const result: BatchWriterResult = { applied: 0, rejected: 0, retryable: 0, notAttempted: 0 };
  let commitChain: Promise<void> = Promise.resolve();
  let done = 0;
  const inFlight = new Set<Promise<void>>();
  /** Transport failures since the CRM last answered anything. */
  let unanswered = 0;

  const call = (changes: Change[]): Promise<RecordOutcome[]> => {
    const run = () => destination.write({ target, changes });
    return limiter ? limiter.schedule(run) : run();
  };

  /** Writes a batch with retries of whole-batch transient failures; splits splittable refusals. */
  const writeBatch = async (changes: Change[]): Promise<RecordOutcome[]> => {
    try {
      return await pRetry(
        async () => {
          if (result.stopError) throw new AbortError(result.stopError);
          if (options.cancel?.aborted) throw new AbortError('cancelled: the run is stopping');
          try {
            const outcomes = await call(changes);
            unanswered = 0;
            return outcomes;
          } catch (err) {
            const e = toPqlsyncError(err, 'DESTINATION_REQUEST_FAILED');
            if (e.code !== 'DESTINATION_UNREACHABLE') unanswered = 0;
            else if (++unanswered >= retry.maxAttempts) {
              result.stopError ??= circuitOpen(e, `${unanswered} requests in a row got no answer`);
              throw new AbortError(result.stopError);
            }
            if (e.kind !== 'transient') throw new AbortError(e);
            throw e;
          }
        },
        {
          retries: retry.maxAttempts - 1,
          minTimeout: retry.initialDelayMs,
          maxTimeout: retry.maxDelayMs,
          factor: 2,
          randomize: true,
        },
      );
    } catch (err) {
      const e = toPqlsyncError(err, 'DESTINATION_REQUEST_FAILED');
      // Never a record's fault: the batch is sent again by the next run.
      if (e.code === 'DESTINATION_UNREACHABLE') {
        throw result.stopError ?? circuitOpen(e, `a batch got no answer in ${retry.maxAttempts} attempts`);
      }
      if (e.details?.splittable === true && changes.length > 1) {
        const mid = Math.ceil(changes.length / 2);
        const left = await writeBatch(changes.slice(0, mid));
        const right = await writeBatch(changes.slice(mid));
        return [...left, ...right];
      }
      if (e.details?.splittable === true || e.kind === 'transient') {
        // One record the destination keeps refusing, or a batch that kept failing: record it, move on.
        const status = e.kind === 'transient' ? 'retryable' : 'rejected';
        return changes.map((c) => ({ key: c.key, status, reason: e.message, code: e.code }));
      }
      throw e;
    }
  };

  /** Writes a batch, then retries its retryable records in smaller batches with backoff. */
  const writeWithRecordRetries = async (changes: Change[]): Promise<RecordOutcome[]> => {
    const byKey = new Map<string, RecordOutcome>();
    let pending = changes;
    for (let attempt = 1; pending.length > 0; attempt++) {
      // Retries go in halves: smaller batches lower lock contention (Salesforce UNABLE_TO_LOCK_ROW).
      const parts = attempt === 1 ? [pending] : halves(pending);
      for (const part of parts) {
        for (const o of await writeBatch(part)) byKey.set(o.key, o);
      }
      const retryKeys = new Set(
        pending.filter((c) => byKey.get(c.key)?.status === 'retryable').map((c) => c.key),
      );
      if (retryKeys.size === 0 || attempt >= retry.maxAttempts || result.stopError) break;
      pending = pending.filter((c) => retryKeys.has(c.key));
      const delay =
        Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      await new Promise((r) => setTimeout(r, delay));
    }
    return changes.map(
      (c) =>
        byKey.get(c.key) ?? {
          key: c.key,
          status: 'retryable',
          reason: 'no outcome returned by the destination',
        },
    );
  };

  /** Hands a batch's outcomes to `commit`, in sequence with the other batches; counts them once committed. */
  const commitOutcomes = async (changes: Change[], written: RecordOutcome[]): Promise<void> => {
    const next = commitChain.then(async () => {
      await options.commit(changes, written);
      for (const o of written) {
        if (o.status === 'applied') result.applied++;
        else if (o.status === 'rejected') result.rejected++;
        else if (o.status === 'skipped') result.skipped = (result.skipped ?? 0) + 1;
        else result.retryable++;
      }
      done += changes.length;
      options.onProgress?.(done);
    });
    commitChain = next.catch(() => undefined);
    try {
      await next;
    } catch (err) {
      // Written but not committed (the warehouse refused the state commit): the run stops with what was committed
      // before, and the next run sends this batch again (upserts by external id, so nothing is duplicated).
      result.stopError ??= toPqlsyncError(err, 'WAREHOUSE_QUERY_FAILED');
    }
  };

  const process = async (changes: Change[]): Promise<void> => {
    if (result.stopError || options.signal?.aborted) {
      result.notAttempted += changes.length;
      return;
    }
    let outcomes: RecordOutcome[] | 'cancelled';
    try {
      outcomes = await orCancelled(writeWithRecordRetries(changes), options.cancel);
    } catch (err) {
      result.stopError ??= toPqlsyncError(err, 'DESTINATION_REQUEST_FAILED');
      result.notAttempted += changes.length;
      return;
    }
    if (outcomes === 'cancelled' || options.cancel?.aborted) {
      // The answer came too late (or never): not committed, so the next run sends this batch again.
      result.aborted = true;
      result.notAttempted += changes.length;
      return;
    }
    await commitOutcomes(changes, outcomes);
  };

  // Changes the destination refused before sending (checkChange): committed in batches of their own.
  let refused: Array<{ change: Change; outcome: RecordOutcome }> = [];
  const flushRefused = () => {
    const part = refused;
    refused = [];
    if (part.length === 0) return;
    const p = commitOutcomes(
      part.map((r) => r.change),
      part.map((r) => r.outcome),
    ).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  let buffer: Change[] = [];
  const dispatch = (changes: Change[]) => {
    const p = limit(() => process(changes)).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const signal = options.signal;
  try {
    for await (const chunk of batches) {
      for (const change of chunk) {
        // Values no destination can hold (NaN, a date outside years 1-9999) are rejected here, never sent; so is
        // what the destination's own checks refuse.
        const outcome: RecordOutcome | undefined = change.invalid
          ? { key: change.key, status: 'rejected', ...change.invalid }
          : destination.checkChange?.(target, change);
        if (outcome) {
          refused.push({ change, outcome });
          if (refused.length >= size) flushRefused();
          continue;
        }
        buffer.push(change);
        if (buffer.length >= size && !signal?.aborted) {
          dispatch(buffer);
          buffer = [];
        }
      }
      // Keep memory bounded: one batch queued behind those running, the next one filling.
      while (inFlight.size > (capabilities.concurrency ?? 1)) await Promise.race(inFlight);
      if (result.stopError || signal?.aborted || options.cancel?.aborted) break;
    }
  } catch (err) {
    // The changes stopped coming (a warehouse error). It stops the run like a destination's stop error: batches
    // already sent still get their outcomes committed below, so no write outlives the run and nothing sent is
    // forgotten; the rest is planned again by the next run.
    result.stopError ??= toPqlsyncError(err, 'WAREHOUSE_QUERY_FAILED');
  }
  flushRefused();
  if (signal?.aborted || options.cancel?.aborted) {
    // Not dispatched: planned again by the next run, since only committed outcomes move the snapshot.
    result.aborted = true;
    result.notAttempted += buffer.length;
  } else if (buffer.length > 0) dispatch(buffer);
  await Promise.all(inFlight);
  await commitChain;
  // After a cancel a request may still be waiting for its answer: drop it rather than wait.
  if (options.cancel?.aborted) void limiter?.stop({ dropWaitingJobs: true }).catch(() => undefined);
  else await limiter?.stop({ dropWaitingJobs: false });
  return result;
}

/** The run's stop error once the CRM keeps not answering (`what` says how it showed). */
function circuitOpen(last: PqlsyncError, what: string): PqlsyncError {
  return new PqlsyncError(
    'DESTINATION_UNREACHABLE',
    `the CRM stopped answering: ${what} (circuit breaker open); the run stopped after committing what the CRM had acknowledged, and the next run sends the rest. Last failure: ${last.message}`,
    {
      kind: 'system',
      location: last.location,
      ...(last.hint ? { hint: last.hint } : {}),
      details: { ...last.details },
      cause: last,
    },
  );
}

/**
 * `work`'s result, or 'cancelled' as soon as `signal` aborts. The abort listener goes once `work` settles: racing each
 * batch against one promise that stays pending for the whole run kept every batch's outcomes reachable from it
 * (about 100 MB of JS heap over a 1M-row first sync).
 */
function orCancelled<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | 'cancelled'> {
  if (!signal) return work;
  if (signal.aborted) return Promise.resolve('cancelled');
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve('cancelled');
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function halves<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  const mid = Math.ceil(items.length / 2);
  return [items.slice(0, mid), items.slice(mid)];
}
