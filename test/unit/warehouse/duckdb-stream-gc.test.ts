/**
 * The DuckDB stream's own forced collections (one every 16 chunks: the chunks' native memory is invisible to V8)
 * stand down while a stream of changes trims the heap itself (issue 22: both together cost a 1M-row first sync about
 * a fifth more CPU time for the same peak RSS). `collectGarbage` is replaced by a counter; the rest is real.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { collectGarbage, streamingHeap } from '../../../src/util/heap.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';

vi.mock('../../../src/util/heap.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../../src/util/heap.js')>()),
  collectGarbage: vi.fn(),
}));

let duck: DuckdbAdapter;

beforeEach(async () => {
  vi.mocked(collectGarbage).mockClear();
  duck = new DuckdbAdapter({ path: ':memory:' });
  await duck.connect();
});

afterEach(async () => {
  await duck.close();
});

/** Streams 40 of DuckDB's 2,048-row chunks; returns the rows read. */
async function streamRows(): Promise<number> {
  let rows = 0;
  for await (const chunk of duck.stream('select i from range(81920) r(i)')) rows += chunk.length;
  return rows;
}

describe("DuckDB stream's forced collections", () => {
  it('collects every 16 chunks of a stream on its own', async () => {
    expect(await streamRows()).toBe(81_920);
    expect(collectGarbage).toHaveBeenCalledTimes(2);
  });

  it('leaves collecting to a stream of changes while one runs', async () => {
    const end = streamingHeap();
    try {
      expect(await streamRows()).toBe(81_920);
    } finally {
      end();
    }
    expect(collectGarbage).not.toHaveBeenCalled();
  });
});
