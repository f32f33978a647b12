import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { readDbtGate } from '../../../src/scheduler/dbt-gate.js';

describe('--after-dbt gate', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const write = (results: unknown[], manifest?: unknown): string => {
    dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-dbt-'));
    writeFileSync(path.join(dir, 'run_results.json'), JSON.stringify({ results }));
    if (manifest) writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    return path.join(dir, 'run_results.json');
  };

  it('blocks a model that reads a failed or skipped model, by whole schema.table name only', () => {
    const file = write([
      { unique_id: 'model.shop.dim_users', status: 'error', relation_name: '"prod"."analytics"."dim_users"' },
      {
        unique_id: 'model.shop.fct_events',
        status: 'skipped',
        relation_name: '`prod`.`analytics`.`fct_events`',
      },
      {
        unique_id: 'model.shop.dim_accounts',
        status: 'success',
        relation_name: '"prod"."analytics"."dim_accounts"',
      },
    ]);
    const gate = readDbtGate(file);
    expect(gate.blockReason('pql_users', 'select * from "analytics"."dim_users" u join x on 1=1')).toBe(
      `dbt node model.shop.dim_users has status 'error' in ${file}, and model pql_users reads prod.analytics.dim_users; fix dbt and rerun it first`,
    );
    expect(gate.blockReason('m', 'select * from prod.analytics.fct_events')).toBe(
      `dbt node model.shop.fct_events has status 'skipped' in ${file}, and model m reads prod.analytics.fct_events; fix dbt and rerun it first`,
    );
    expect(
      gate.blockReason('m', 'select * from analytics.dim_users_archive, xanalytics.dim_users'),
    ).toBeUndefined();
    expect(gate.blockReason('m', 'select * from analytics.dim_accounts')).toBeUndefined();
  });

  it('a failing test blocks the models it tests only when manifest.json says which they are', () => {
    const results = [{ unique_id: 'test.shop.unique_dim_users_id.9f', status: 'fail' }];
    const manifest = {
      nodes: {
        'test.shop.unique_dim_users_id.9f': {
          resource_type: 'test',
          depends_on: { nodes: ['model.shop.dim_users', 'macro.x'] },
        },
        'model.shop.dim_users': {
          resource_type: 'model',
          database: 'prod',
          schema: 'analytics',
          alias: 'dim_users',
        },
      },
    };
    const withManifest = readDbtGate(write(results, manifest));
    expect(withManifest.failures).toEqual([
      { nodeId: 'test.shop.unique_dim_users_id.9f', status: 'fail', relation: 'prod.analytics.dim_users' },
    ]);
    rmSync(dir!, { recursive: true, force: true });
    expect(readDbtGate(write(results)).failures).toEqual([]);
  });

  it('names a missing or foreign file', () => {
    const missing = (() => {
      try {
        readDbtGate('/nonexistent/run_results.json');
      } catch (e) {
        return e as PqlsyncError;
      }
      throw new Error('expected an error');
    })();
    expect([missing.code, missing.format()]).toEqual([
      'ARGS_INVALID',
      '--after-dbt: /nonexistent/run_results.json does not exist\n  hint: pass the run_results.json that `dbt build` wrote (target/run_results.json by default)',
    ]);
    dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-dbt-'));
    const other = path.join(dir, 'package.json');
    writeFileSync(other, '{"name": "x"}');
    expect(() => readDbtGate(other)).toThrow(
      `--after-dbt: ${other} has no "results" list; is it a dbt run_results.json?`,
    );
  });
});
