/**
 * The heap module's first collection turns on V8's --expose-gc to get `gc()`, and turns it off again: V8 refuses a
 * code cache made under other flags than a fresh process has, and the bundled CLI's cache (bin/bundle-loader.js) is
 * taken as the process exits, after any collection. A cache made after a collection must be accepted by the next
 * process. (Within one process V8 accepts it either way, so each side runs in a process of its own.)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../helpers/cli.js';
import { tempProject } from '../../helpers/temp-project.js';

const dir = tempProject('pqlsync-heap-flags-');
afterAll(() => dir.cleanup());

const SOURCE = 'function double(x) { return x * 2 } double(21)';

describe('the heap module and V8 flags', () => {
  it('leaves them as the process started with them: a code cache taken after a collection is accepted', () => {
    const cache = path.join(dir.dir, 'code.cache');
    const heap = path.join(REPO_DIR, 'src', 'util', 'heap.ts');
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import vm from 'node:vm'; import { writeFileSync } from 'node:fs';
         import { collectGarbage } from ${JSON.stringify(heap)};
         const script = new vm.Script(${JSON.stringify(SOURCE)}, { filename: 'flags.js' });
         collectGarbage();
         writeFileSync(${JSON.stringify(cache)}, script.createCachedData());`,
      ],
      { cwd: REPO_DIR, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(readFileSync(cache).length).toBeGreaterThan(0);
    const answer = execFileSync(
      process.execPath,
      [
        '-e',
        `const vm = require('node:vm');
         const s = new vm.Script(${JSON.stringify(SOURCE)}, { filename: 'flags.js', cachedData: require('node:fs').readFileSync(${JSON.stringify(cache)}) });
         console.log(JSON.stringify({ rejected: s.cachedDataRejected, value: s.runInThisContext() }));`,
      ],
      { env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8' },
    );
    expect(JSON.parse(answer)).toEqual({ rejected: false, value: 42 });
  });
});
