/**
 * The commands the demo prints work as printed and start at once (issue 21, item 9): where pqlsync is neither on
 * PATH nor installed in the project (a clone), they name this package's bin, not `npx pqlsync`, which from inside a
 * clone first installs the clone into npx's cache and builds it (its `prepare` script: 27-54 s on a busy machine).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_DIR, runCli } from '../helpers/cli.js';

const parent = mkdtempSync(path.join(tmpdir(), 'pqlsync-demo-hints-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

it('prints the run-history command with the bin of the pqlsync that ran, when npx would have to install it', async () => {
  const res = await runCli(['demo', '--dir', 'demo', '--users', '200', '--crm', 'file'], {
    cwd: parent,
    // No `pqlsync` on PATH: only node's own directory.
    env: { PATH: path.dirname(process.execPath) },
  });
  expect(res.code).toBe(0);
  expect(res.stderr).toContain(
    `  run history:    cd demo && node ${path.join(REPO_DIR, 'bin', 'pqlsync.js')} runs\n`,
  );
  expect(res.stderr).not.toContain('npx pqlsync');
});
