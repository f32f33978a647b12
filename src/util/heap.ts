/**
 * Keeps the JS heap near its live size while a sync streams changes.
 *
 * A batch of changes lives from the moment it is read until the CRM has answered and its outcomes are committed,
 * long enough for V8 to promote it to the old generation, where it turns into garbage that only a full collection
 * frees; V8 lets that garbage grow to several times the live heap before collecting (about 65 MB of garbage on a
 * 28 MB live heap while streaming 1M changes). The stream calls `trimHeap` once per chunk: a full collection runs
 * when the heap has doubled since the last one (and is past a floor), which bounds the heap at about twice its live
 * size for a few collections per batch.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

const FLOOR_BYTES = 48 * 1024 * 1024;
let threshold = FLOOR_BYTES;

const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  const fn: unknown = runInNewContext('gc');
  return typeof fn === 'function' ? (fn as () => void) : () => undefined;
})();

/** A full collection now. */
export function collectGarbage(): void {
  gc();
  threshold = Math.max(FLOOR_BYTES, 2 * v8.getHeapStatistics().used_heap_size);
}

/** A full collection if the heap has doubled since the last one (and is past 48 MB); else nothing. */
export function trimHeap(): void {
  if (v8.getHeapStatistics().used_heap_size >= threshold) collectGarbage();
}
