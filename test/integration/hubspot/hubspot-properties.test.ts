import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../src/runner/run-sync.js';
import { runCli } from '../../helpers/cli.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { CONTACT_PROPS, expectedContact, startHarness, TOKEN, type Harness } from './hubspot-harness.js';

setLogger(createLogger({ level: 'silent' }));

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Property {
  name: string;
  type: string;
  fieldType: string;
  groupName: string;
  hasUniqueValue: boolean;
  options: Array<{ value: string; label: string }>;
}

async function properties(harness: Harness): Promise<Map<string, Property>> {
  const res = await fetch(`${harness.sandbox.url}/crm/v3/properties/contacts`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const body = (await res.json()) as { results: Property[] };
  return new Map(body.results.map((p) => [p.name, p]));
}

async function createProperty(harness: Harness, definition: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${harness.sandbox.url}/crm/v3/properties/contacts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ groupName: 'contactinformation', ...definition }),
  });
  expect(res.status).toBe(201);
}

describe('HubSpot destination: property preflight', () => {
  it('without create_properties, exits 2 listing every missing property with its definition, and sends nothing', async () => {
    h = await startHarness({ rows: 5, createProperties: false });
    const summary = await h.run();
    expect(summary.status).toBe('failed');
    expect(exitCodeFor([summary])).toBe(2);
    expect(summary.error?.code).toBe('DESTINATION_PREFLIGHT_FAILED');
    expect(summary.error?.message).toBe(
      [
        'sync users, syncs.users.fields: HubSpot contacts properties do not fit sync users (destination hubspot):',
        '  - missing property product_user_id: string (text) "Product user ID", unique',
        '  - missing property pql_score: number (number) "PQL score"',
        '  - missing property pql_tier: enumeration (select) "PQL tier", options hot, pql, nurture',
        '  - missing property is_pql: bool (booleancheckbox) "Is PQL"',
        '  - missing property pql_qualified_at: date (date) "PQL qualified at"',
        '  - missing property pql_last_seen_at: datetime (date) "Last seen in product"',
        '  - missing property pql_reasons: string (textarea) "PQL reasons"',
        "  hint: set create_properties: true on destination 'hubspot' (or pass --create-properties) to create the " +
          "missing properties in group 'pqlsync', or create them in HubSpot as listed",
      ].join('\n'),
    );
    expect(await h.requests()).toEqual([
      { method: 'GET', path: '/crm/v3/properties/contacts', status: 200, records: 0 },
    ]);
  });

  it('with --create-properties, creates them in group pqlsync (enumerations with their options) and syncs', async () => {
    h = await startHarness({ rows: 5, createProperties: false });
    const summary = await h.run({ createProperties: true });
    expect(summary.status).toBe('success');
    const props = await properties(h);
    const created = CONTACT_PROPS.filter((p) => p !== 'email').map((name) => props.get(name));
    expect(created.map((p) => [p?.name, p?.groupName, p?.type, p?.fieldType, p?.hasUniqueValue])).toEqual([
      ['product_user_id', 'pqlsync', 'string', 'text', true],
      ['pql_score', 'pqlsync', 'number', 'number', false],
      ['pql_tier', 'pqlsync', 'enumeration', 'select', false],
      ['is_pql', 'pqlsync', 'bool', 'booleancheckbox', false],
      ['pql_qualified_at', 'pqlsync', 'date', 'date', false],
      ['pql_last_seen_at', 'pqlsync', 'datetime', 'date', false],
      ['pql_reasons', 'pqlsync', 'string', 'textarea', false],
    ]);
    expect(props.get('pql_tier')?.options.map((o) => [o.value, o.label])).toEqual([
      ['hot', 'Hot'],
      ['pql', 'Pql'],
      ['nurture', 'Nurture'],
    ]);
    expect(props.get('is_pql')?.options.map((o) => o.value)).toEqual(['true', 'false']);
    const groups = (await (
      await fetch(`${h.sandbox.url}/crm/v3/properties/contacts/groups`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).json()) as { results: Array<{ name: string; label: string }> };
    expect(groups.results.find((g) => g.name === 'pqlsync')).toMatchObject({ label: 'PQL scores (pqlsync)' });
    expect((await h.contacts(CONTACT_PROPS)).get('5')).toEqual(expectedContact(5));
  });

  it('reports properties of the wrong type, read-only ones and a non-unique match property together', async () => {
    h = await startHarness({ rows: 5, fieldsExtra: '      hubspotscore: pql_score\n' });
    await createProperty(h, { name: 'product_user_id', label: 'User', type: 'string', fieldType: 'text' });
    await createProperty(h, { name: 'pql_score', label: 'Score', type: 'string', fieldType: 'text' });
    const summary = await h.run();
    expect(exitCodeFor([summary])).toBe(2);
    expect(summary.error?.message).toBe(
      [
        'sync users, syncs.users.fields: HubSpot contacts properties do not fit sync users (destination hubspot):',
        '  - match field product_user_id is not unique in HubSpot (it was not created with hasUniqueValue, which ' +
          'cannot be changed later), so contacts cannot be upserted by it; match on a unique property such as ' +
          'product_user_id',
        '  - pql_score is string (text) in HubSpot, expected number',
        '  - hubspotscore is read-only in HubSpot (number), so pqlsync cannot write it',
        '  hint: fix the properties in HubSpot (Settings > Properties) or change the sync mapping',
      ].join('\n'),
    );
    // nothing was created: a run that cannot write must not half-configure the portal
    expect((await properties(h)).has('pql_tier')).toBe(false);
  });
});

describe('HubSpot destination: modes', () => {
  it('mirror clears the PQL properties of rows that left the model and never deletes the contact', async () => {
    h = await startHarness({ rows: 50, mode: 'mirror' });
    await h.run();
    await h.wh.query('delete from src.users where user_id in (10, 20)');
    await h.mark();
    const summary = await h.run();
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ removed: 2, applied: 2 });
    const log = await h.requests();
    expect(
      log.filter((r) => r.path.startsWith('/crm/v3/objects')).map((r) => `${r.path} ${r.records}`),
    ).toEqual(['/crm/v3/objects/contacts/batch/update 2']);
    const contacts = await h.contacts(CONTACT_PROPS);
    expect(contacts.size).toBe(50);
    expect(contacts.get('10')).toEqual({
      product_user_id: '10',
      email: '',
      pql_score: '',
      pql_tier: '',
      is_pql: '',
      pql_qualified_at: '',
      pql_last_seen_at: '',
      pql_reasons: '',
    });
    expect(contacts.get('11')).toEqual(expectedContact(11));
  });

  it('update never creates: missing records are rejected with the reason, existing ones are updated', async () => {
    h = await startHarness({ rows: 3, mode: 'update' });
    await h.admin('POST', '/_sandbox/hubspot/contacts', {
      records: [{ properties: { product_user_id: '2', email: 'u2@example.com' } }],
    });
    const summary = await h.run();
    expect(summary.status).toBe('partial');
    expect(summary.counts).toMatchObject({ added: 3, applied: 1, rejected: 2 });
    expect(
      (await h.requests())
        .filter((r) => r.path.startsWith('/crm/v3/objects'))
        .map((r) => `${r.path} ${r.status}`),
    ).toEqual(['/crm/v3/objects/contacts/batch/update 207']);
    const { rows } = await h.wh.query(
      'select key, reason, code from pqlsync_state.users__failures order by key',
    );
    expect(rows).toEqual([
      {
        key: '1',
        reason: 'no contacts record has product_user_id 1 (mode update never creates records)',
        code: 'OBJECT_NOT_FOUND',
      },
      {
        key: '3',
        reason: 'no contacts record has product_user_id 3 (mode update never creates records)',
        code: 'OBJECT_NOT_FOUND',
      },
    ]);
    const contacts = await h.contacts(['product_user_id', 'pql_score']);
    expect([...contacts.values()]).toEqual([
      { product_user_id: '2', pql_score: expectedContact(2).pql_score },
    ]);
  });

  it("skip_null leaves HubSpot's value alone when the model says null", async () => {
    h = await startHarness({ rows: 3 });
    h.project.writeConfig(
      readFileSync(h.project.configPath, 'utf8').replace(
        'pql_qualified_at: qualified_at',
        'pql_qualified_at: { column: qualified_at, skip_null: true }',
      ),
    );
    // user 1 scores 7 (no qualified_at); give it a date first, then take it away
    await h.wh.query(`update src.users set score = 50 where user_id = 1`);
    await h.run();
    const before = (await h.contacts(['pql_qualified_at'])).get('1');
    expect(before).toEqual({ pql_qualified_at: String(Date.UTC(2025, 0, 2)) });
    await h.wh.query(`update src.users set score = 7 where user_id = 1`);
    const summary = await h.run();
    expect(summary.counts).toMatchObject({ changed: 1, applied: 1 });
    expect((await h.contacts(['pql_qualified_at', 'pql_score'])).get('1')).toEqual({
      pql_qualified_at: String(Date.UTC(2025, 0, 2)),
      pql_score: '7',
    });
  });
});

describe('HubSpot destination: pqlsync run --create-properties', () => {
  it('exits 2 listing the missing properties, then 0 once the flag creates them', async () => {
    h = await startHarness({ rows: 4, createProperties: false });
    await h.wh.close(); // DuckDB lets one process hold the file: the CLI's
    const config = ['--config', h.project.configPath, '--json'];
    const refused = await runCli(['run', 'users', ...config]);
    expect(refused.code).toBe(2);
    const summary = JSON.parse(refused.stdout) as {
      status: string;
      error: { code: string; message: string };
    };
    expect(summary.status).toBe('failed');
    expect(summary.error.code).toBe('DESTINATION_PREFLIGHT_FAILED');
    expect(summary.error.message).toContain(
      '  - missing property pql_tier: enumeration (select) "PQL tier", options hot, pql, nurture',
    );

    const created = await runCli(['run', 'users', '--create-properties', ...config]);
    expect([created.code, created.stderr]).toEqual([0, '']);
    expect(JSON.parse(created.stdout)).toMatchObject({ status: 'success', counts: { added: 4, applied: 4 } });
    expect((await h.contacts(CONTACT_PROPS)).get('4')).toEqual(expectedContact(4));
  });
});
