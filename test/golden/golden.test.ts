/**
 * Golden tests: every model (the fixtures here and the example models in `models/`) compiled for each dialect,
 * compared with the committed `{sql, params}` under `test/golden/expected/`. Regenerate after an intended change
 * with `UPDATE_GOLDEN=1 npx vitest run test/golden` and review the diff.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../src/model/compile-model.js';
import { listModels, loadModel } from '../../src/model/model-file.js';
import type { Dialect } from '../../src/warehouse/warehouse-adapter.js';

const DIALECTS: Dialect[] = ['duckdb', 'postgres', 'bigquery', 'snowflake'];
const SOURCES = [
  { label: 'fixtures', dir: 'test/golden/fixtures/models' },
  { label: 'models', dir: 'models' },
];
const EXPECTED_DIR = 'test/golden/expected';
const update = process.env.UPDATE_GOLDEN === '1';

/** The golden text: a header, one `-- param` line per bind parameter (JSON), then the SQL. */
function render(model: string, dialect: Dialect, sql: string, params: unknown[]): string {
  const header = `-- golden: ${model} compiled for ${dialect} with default params (UPDATE_GOLDEN=1 to regenerate)`;
  const paramLines = params.map((p) => `-- param ${JSON.stringify(p)}`);
  return [header, ...paramLines, sql.trimStart(), ''].join('\n');
}

for (const source of SOURCES) {
  const models = await listModels(source.dir);
  describe.runIf(models.length > 0)(`golden ${source.label}`, () => {
    for (const name of models) {
      for (const dialect of DIALECTS) {
        it(`${name} on ${dialect}`, async () => {
          const compiled = compileModel(await loadModel(source.dir, name, dialect), { dialect });
          const actual = render(name, dialect, compiled.sql, compiled.params);
          const file = path.join(EXPECTED_DIR, source.label, `${name}.${dialect}.sql`);
          if (update) {
            mkdirSync(path.dirname(file), { recursive: true });
            writeFileSync(file, actual);
          }
          expect(existsSync(file), `${file} is missing; run UPDATE_GOLDEN=1 npx vitest run test/golden`).toBe(
            true,
          );
          expect(actual).toBe(readFileSync(file, 'utf8'));
        });
      }
    }
  });
}
