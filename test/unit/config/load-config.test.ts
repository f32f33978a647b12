import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load-config.js';
import { configJsonSchema } from '../../../src/config/json-schema.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { scrubSecrets } from '../../../src/errors/secrets.js';

const base = `version: 1
destinations:
  crm: { type: file }
syncs:
  users:
    model: pql_users
    destination: crm
    object: Lead
    match: { field: Ext__c }
    fields:
      Score__c: pql_score
`;

function errorOf(text: string, env: NodeJS.ProcessEnv = {}): PqlsyncError {
  try {
    parseConfig(text, 'config/pqlsync.yml', env);
  } catch (err) {
    if (err instanceof PqlsyncError) return err;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('project config', () => {
  it('accepts a minimal config and fills defaults', () => {
    const c = parseConfig(base, 'config/pqlsync.yml', {});
    expect(c.warehouse).toEqual({ type: 'duckdb', path: 'pqlsync.duckdb', stream_memory_limit: '64MB' });
    expect(c.state.schema).toBe('pqlsync_state');
    expect(c.syncs.users).toMatchObject({ mode: 'upsert', max_removed_pct: 20, depends_on: [], params: {} });
  });

  it('the shipped example config is valid', () => {
    const text = readFileSync(new URL('../../../config/pqlsync.yml', import.meta.url), 'utf8');
    expect(() => parseConfig(text, 'config/pqlsync.yml', {})).not.toThrow();
  });

  it('reports every problem at once, with line, path and did-you-mean', () => {
    const text = base
      .replace('    object: Lead\n', '    objet: Lead\n    mode: upsrt\n')
      .replace('version: 1\n', 'version: 1\nwarehous: {}\n');
    const e = errorOf(text);
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.kind).toBe('config');
    expect(e.message).toBe(
      [
        '4 problems in config/pqlsync.yml:',
        "  config/pqlsync.yml:2: warehous: unknown key 'warehous'; did you mean 'warehouse'?",
        '  config/pqlsync.yml:6: syncs.users.object: is required (expected string)',
        "  config/pqlsync.yml:9: syncs.users.objet: unknown key 'objet'; did you mean 'object'?",
        '  config/pqlsync.yml:10: syncs.users.mode: expected one of "update", "upsert", "mirror", got string "upsrt"',
      ].join('\n'),
    );
  });

  it('names a wrong type with what was found', () => {
    const e = errorOf(
      base.replace('max_removed_pct', '').replace('    fields:', '    max_removed_pct: lots\n    fields:'),
    );
    expect(e.message).toBe(
      '1 problem in config/pqlsync.yml:\n  config/pqlsync.yml:10: syncs.users.max_removed_pct: expected number, got string "lots"',
    );
  });

  it('checks stream_memory_limit is a size or none, 64MB unless set', () => {
    const ok = parseConfig(
      `warehouse: { type: duckdb, stream_memory_limit: 48MB }\n${base}`,
      'config/pqlsync.yml',
      {},
    );
    expect(ok.warehouse).toMatchObject({ stream_memory_limit: '48MB' });
    const unset = parseConfig(`warehouse: { type: duckdb }\n${base}`, 'config/pqlsync.yml', {});
    expect(unset.warehouse).toMatchObject({ stream_memory_limit: '64MB' });
    const off = parseConfig(
      `warehouse: { type: duckdb, stream_memory_limit: none }\n${base}`,
      'config/pqlsync.yml',
      {},
    );
    expect(off.warehouse).toMatchObject({ stream_memory_limit: 'none' });
    const e = errorOf(`warehouse: { type: duckdb, stream_memory_limit: lots }\n${base}`);
    expect(e.message).toContain(
      "config/pqlsync.yml:1: warehouse.stream_memory_limit: a size such as '64MB' or '1GiB', or none",
    );
  });

  it('interpolates ${ENV} and fails clearly when a variable is unset', () => {
    const text = base.replace(
      'crm: { type: file }',
      'crm: { type: hubspot, access_token: "${HUBSPOT_TOKEN}" }',
    );
    const ok = parseConfig(text, 'config/pqlsync.yml', { HUBSPOT_TOKEN: 'pat-na1-secret-value' });
    expect(ok.destinations.crm).toMatchObject({ type: 'hubspot', access_token: 'pat-na1-secret-value' });
    // the interpolated token is now scrubbed from any message
    expect(scrubSecrets('token pat-na1-secret-value leaked')).toBe('token [redacted] leaked');
    const e = errorOf(text, {});
    expect(e.message).toBe(
      '1 problem in config/pqlsync.yml:\n  config/pqlsync.yml:3: destinations.crm.access_token: environment variable HUBSPOT_TOKEN is not set (export HUBSPOT_TOKEN=... before running pqlsync)',
    );
  });

  it('supports ${VAR:-default}', () => {
    const text = base.replace('crm: { type: file }', 'crm: { type: file, path: "${OUT_DIR:-out}" }');
    expect(parseConfig(text, 'c.yml', {}).destinations.crm).toMatchObject({ path: 'out' });
  });

  it('checks that syncs point at defined destinations and syncs', () => {
    const e = errorOf(
      base
        .replace('destination: crm', 'destination: cmr')
        .replace('    fields:', '    depends_on: [accounts]\n    fields:'),
    );
    expect(e.message).toBe(
      [
        '2 problems in config/pqlsync.yml:',
        "  config/pqlsync.yml:7: syncs.users.destination: destination 'cmr' is not defined under destinations; did you mean 'crm'?",
        "  config/pqlsync.yml:10: syncs.users.depends_on.0: sync 'accounts' is not defined; syncs are: users",
      ].join('\n'),
    );
  });

  it('reports YAML syntax errors with their line', () => {
    const e = errorOf('syncs:\n  users: [\n');
    expect(e.message).toMatch(
      /^1 problem in config\/pqlsync.yml:\n {2}config\/pqlsync.yml:\d+: YAML syntax error: /,
    );
  });

  it('the committed JSON Schema is current (npm run schema regenerates it)', () => {
    const committed = readFileSync(new URL('../../../config/pqlsync.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(configJsonSchema());
  });
});
