/**
 * Golden tests: every model (the fixtures here and the example models in `models/`) compiled for each dialect,
 * compared with the committed `{sql, params}` under `test/golden/expected/`. Regenerate after an intended change
 * with `UPDATE_GOLDEN=1 npx vitest run test/golden` (the rewritten files' tests fail: review the diff, then rerun
 * without the variable). Paths come from this file's location, so vitest can run from any directory.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/model/compile-model.js';
import { listModels, loadModel } from '../../src/model/model-file.js';
import type { Dialect } from '../../src/warehouse/warehouse-adapter.js';
import { expectGolden } from '../helpers/golden.js';

const dir = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));
const DIALECTS: Dialect[] = ['duckdb', 'postgres', 'bigquery', 'snowflake'];
const SOURCES = [
  { label: 'fixtures', dir: dir('./fixtures/models/') },
  { label: 'models', dir: dir('../../models/') },
];
const EXPECTED_DIR = dir('./expected/');

/** The golden text: a header, one `-- param` line per bind parameter (JSON), then the SQL. */
function render(model: string, dialect: Dialect, sql: string, params: unknown[]): string {
  const header = `-- golden: ${model} compiled for ${dialect} with default params (UPDATE_GOLDEN=1 to regenerate)`;
  const paramLines = params.map((p) => `-- param ${JSON.stringify(p)}`);
  return [header, ...paramLines, sql.trimStart(), ''].join('\n');
}

for (const source of SOURCES) {
  const models = await listModels(source.dir);
  describe(`golden ${source.label}`, () => {
    // A missing or emptied folder fails here instead of leaving nothing to compare.
    it('has models to compare', () => {
      expect(models, source.dir).toContain('pql_users');
    });
    for (const name of models) {
      for (const dialect of DIALECTS) {
        it(`${name} on ${dialect}`, async () => {
          const compiled = compileModel(await loadModel(source.dir, name, dialect), { dialect });
          const actual = render(name, dialect, compiled.sql, compiled.params);
          expectGolden(`${EXPECTED_DIR}${source.label}/${name}.${dialect}.sql`, actual);
        });
      }
    }
  });
}
