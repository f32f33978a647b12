/**
 * Golden files: text a test produces, compared with a committed copy a person has reviewed.
 *
 * One variable, `UPDATE_GOLDEN=1`, rewrites every golden file whose text differs, and the test that rewrote it
 * then FAILS ("golden updated, rerun"): an update never passes on the text it just wrote, so a run with the
 * variable set cannot hide a regression. Rerun without it (after reviewing `git diff`) to see it pass. With `CI`
 * set, updating is refused outright: CI only compares.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

/** The variable that switches golden tests to rewriting the files. */
export const UPDATE_GOLDEN_VAR = 'UPDATE_GOLDEN';

/**
 * True when golden files should be rewritten (`UPDATE_GOLDEN=1`); throws when that is asked for under `CI`.
 * Call it in the test (not at import), so the refusal is a failing test, not a collection error.
 */
export function goldenUpdateRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env[UPDATE_GOLDEN_VAR] !== '1') return false;
  if (env.CI) {
    throw new Error(
      `${UPDATE_GOLDEN_VAR}=1 is refused when CI is set: golden files are updated on a developer's machine and reviewed, never in CI`,
    );
  }
  return true;
}

/**
 * Compares `actual` with the golden file. Without `UPDATE_GOLDEN=1` the file must exist and equal `actual`. With
 * it, a missing or different file is rewritten and the test fails saying so; an equal file passes.
 */
export function expectGolden(file: string, actual: string): void {
  const exists = existsSync(file);
  const current = exists ? readFileSync(file, 'utf8') : undefined;
  if (goldenUpdateRequested()) {
    if (current === actual) return;
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    expect.fail(`golden updated, rerun: ${file} was ${exists ? 'rewritten' : 'created'}; review the diff`);
  }
  expect(exists, `${file} is missing; run with ${UPDATE_GOLDEN_VAR}=1 to create it, then review it`).toBe(
    true,
  );
  expect(actual).toBe(current);
}
