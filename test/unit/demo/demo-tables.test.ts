/**
 * The demo's guard against replacing a user's tables (issue 23, item 4) lists the tables the generator drops:
 * the list must be exactly what sql/demo/schema.sql drops.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEMO_TABLES } from '../../../src/demo/generate-demo-data.js';

describe('DEMO_TABLES', () => {
  it('names every table sql/demo/schema.sql drops', () => {
    const sql = readFileSync(new URL('../../../sql/demo/schema.sql', import.meta.url), 'utf8');
    const dropped = [...sql.matchAll(/^drop table if exists app\.(\w+);$/gm)].map((m) => m[1]);
    expect(dropped).toEqual([...DEMO_TABLES]);
  });
});
