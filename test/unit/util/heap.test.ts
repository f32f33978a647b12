import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { collectGarbage, trimHeap } from '../../../src/util/heap.js';

const used = () => v8.getHeapStatistics().used_heap_size;
const MB = 1024 * 1024;

describe('trimHeap', () => {
  it('collects once the heap has doubled since the last collection, and not before', () => {
    collectGarbage();
    const threshold = Math.max(48 * MB, 2 * used());

    // Below the threshold: garbage stays until V8 decides (nothing is collected by trimHeap).
    let held: { i: number; s: string }[] | undefined = [];
    while (used() < threshold - 16 * MB) held.push({ i: held.length, s: `row ${held.length} `.repeat(4) });
    held = undefined;
    const belowBefore = used();
    trimHeap();
    expect(used()).toBeGreaterThan(belowBefore - 4 * MB);

    // Past it: one full collection brings the heap back to its live size.
    held = [];
    while (used() < threshold + 16 * MB) held.push({ i: held.length, s: `row ${held.length} `.repeat(4) });
    held = undefined;
    expect(used()).toBeGreaterThanOrEqual(threshold);
    trimHeap();
    expect(used()).toBeLessThan(threshold / 2 + 8 * MB);
  });
});
