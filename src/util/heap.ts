/**
 * Keeps the JS heap near its live size while a sync streams changes.
 *
 * A batch of changes lives from the moment it is read until the CRM has answered and its outcomes are committed,
 * long enough for V8 to promote it to the old generation, where it turns into garbage that only a full collection
 * frees; V8 lets that garbage grow to several times the live heap before collecting (about 65 MB of garbage on a
 * 28 MB live heap while streaming 1M changes). The stream calls `trimHeap` once per chunk: a full collection runs
 * when the heap has grown by half since the last one (and is past a floor).
 *
 * While a stream runs (`streamingHeap`), V8's young generation also stays at its initial size (1 MB a semi-space on
 * Node 20) instead of growing to 16 MB (34 MB committed): what it no longer holds is promoted sooner, which the
 * tighter trimming then collects. Measured streaming 1M changes on DuckDB: about 20 MB less peak RSS, for 5-15%
 * more first-sync time; a sync's stream is paced by the CRM's API limits, not by this.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

const MB = 1024 * 1024;
/** Outside streams: a full collection when the heap has doubled, past 48 MB. */
const IDLE = { floor: 48 * MB, factor: 2 };
/** While streams run. */
const STREAMING = { floor: 24 * MB, factor: 1.5 };

let policy = IDLE;
let threshold = IDLE.floor;
let streams = 0;

/** V8's `gc()`, from a new context made at the first collection (making one took a small run 5-8 ms it never used). */
let gcFunction: (() => void) | undefined;

function gc(): void {
  gcFunction ??= exposeGc();
  gcFunction();
}

function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const fn: unknown = runInNewContext('gc');
  // The new context keeps its `gc`; the flag goes back to what the process started with (unless it started with
  // it), since V8 refuses a code cache made under other flags than its own (bin/bundle-loader.js takes the CLI's
  // at exit: with the flag left on, every run's cache was refused by the next run).
  if (!process.execArgv.includes('--expose-gc') && !/--expose[-_]gc/.test(process.env.NODE_OPTIONS ?? ''))
    v8.setFlagsFromString('--no-expose-gc');
  return typeof fn === 'function' ? (fn as () => void) : () => undefined;
}

/** The next collection's trigger under the current policy, from the heap used now. */
function resetThreshold(): void {
  threshold = Math.max(policy.floor, policy.factor * v8.getHeapStatistics().used_heap_size);
}

/** A full collection now. */
export function collectGarbage(): void {
  gc();
  resetThreshold();
}

/** A full collection if the heap has grown past the policy's threshold since the last one; else nothing. */
export function trimHeap(): void {
  if (v8.getHeapStatistics().used_heap_size >= threshold) collectGarbage();
}

/** True while a stream of changes runs (see streamingHeap): it trims the heap itself, chunk by chunk. */
export function heapTrimmed(): boolean {
  return streams > 0;
}

/**
 * Marks a stream of changes as running (streams may overlap, in the scheduler); returns the function that ends it.
 * V8's new space grows by `--semi-space-growth-factor` (2) when much of it survives; 1 keeps it as it is. Where a V8
 * version ignores the setting, only the tighter trimming applies.
 */
export function streamingHeap(): () => void {
  if (streams++ === 0) {
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    policy = STREAMING;
    resetThreshold();
  }
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--streams === 0) {
      v8.setFlagsFromString('--semi-space-growth-factor=2');
      policy = IDLE;
      resetThreshold();
    }
  };
}
