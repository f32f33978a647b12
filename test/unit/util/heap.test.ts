import { execFileSync } from 'node:child_process';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectGarbage, streamingHeap, trimHeap } from '../../../src/util/heap.js';

const used = () => v8.getHeapStatistics().used_heap_size;
const MB = 1024 * 1024;
/** Allocates until the used heap reaches `bytes`, and lets it all go: garbage for the next collection. */
const garbageUntil = (bytes: number) => {
  const held: { i: number; s: string }[] = [];
  while (used() < bytes) held.push({ i: held.length, s: `row ${held.length} `.repeat(4) });
};

describe('trimHeap', () => {
  it('collects once the heap has doubled since the last collection, and not before', () => {
    collectGarbage();
    const threshold = Math.max(48 * MB, 2 * used());

    // Below the threshold: garbage stays until V8 decides (nothing is collected by trimHeap).
    garbageUntil(threshold - 16 * MB);
    const belowBefore = used();
    trimHeap();
    expect(used()).toBeGreaterThan(belowBefore - 4 * MB);

    // Past it: one full collection brings the heap back to its live size.
    garbageUntil(threshold + 16 * MB);
    expect(used()).toBeGreaterThanOrEqual(threshold);
    trimHeap();
    expect(used()).toBeLessThan(threshold / 2 + 8 * MB);
  });
});

describe('streamingHeap', () => {
  it('trims at 1.5x the live heap (past 24 MB) while a stream runs, at 2x (past 48 MB) after', () => {
    const end = streamingHeap();
    try {
      collectGarbage();
      const threshold = Math.max(24 * MB, 1.5 * used());
      garbageUntil(threshold + 8 * MB);
      trimHeap();
      expect(used()).toBeLessThan(threshold - 4 * MB);
    } finally {
      end();
      end(); // ending twice is harmless
    }
    collectGarbage();
    const idle = Math.max(48 * MB, 2 * used());
    // Past the streaming threshold, below the idle one: nothing is collected any more.
    garbageUntil(idle - 8 * MB);
    const before = used();
    trimHeap();
    expect(used()).toBeGreaterThan(before - 4 * MB);
  });

  it("keeps V8's young generation at its initial size while a stream runs", () => {
    // A fresh process each, as this process's young generation may have grown already.
    const heapModule = fileURLToPath(new URL('../../../src/util/heap.ts', import.meta.url));
    const newSpaceMb = (streaming: boolean) =>
      Number(
        execFileSync(
          process.execPath,
          [
            '--import',
            'tsx',
            '--input-type=module',
            '-e',
            `import v8 from 'node:v8';
             const { streamingHeap } = await import(${JSON.stringify(heapModule)});
             if (${streaming}) streamingHeap();
             const keep = [];
             for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 200000) keep.splice(0, 100000); }
             const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
             console.log(space.space_size / 1048576);`,
          ],
          { encoding: 'utf8' },
        ).trim(),
      );
    expect(newSpaceMb(false)).toBeGreaterThan(8);
    expect(newSpaceMb(true)).toBeLessThanOrEqual(4);
  });
});
