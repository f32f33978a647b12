import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { CONTACT_PROPS, expectedContact, startHarness, type Harness } from './hubspot-harness.js';

setLogger(createLogger({ level: 'silent' }));

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const upsertSizes = (log: Array<{ path: string; records: number }>): number[] =>
  log
    .filter((r) => r.path === '/crm/v3/objects/contacts/batch/upsert')
    .map((r) => r.records)
    .sort((a, b) => b - a);

// Up to 22 s a test at load 20 (10,000 records): a busier box would pass vitest's 60 s default (issue 24).
describe('HubSpot destination: batch upserts through the real client', { timeout: 180_000 }, () => {
  it.each([
    [1, [1]],
    [100, [100]],
    [101, [100, 1]],
  ])(
    'sends %i records as batches of %j, with HubSpot value formats, then nothing on a rerun',
    async (n, sizes) => {
      h = await startHarness({ rows: n });
      const first = await h.run();
      expect(first.status).toBe('success');
      expect(first.counts).toMatchObject({ added: n, applied: n, rejected: 0 });
      const log = await h.requests();
      expect(upsertSizes(log)).toEqual(sizes);
      // preflight: properties, groups, group create, property batch create; then the upserts
      expect(log.slice(0, 4).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        'GET /crm/v3/properties/contacts 200',
        'GET /crm/v3/properties/contacts/groups 200',
        'POST /crm/v3/properties/contacts/groups 201',
        'POST /crm/v3/properties/contacts/batch/create 201',
      ]);
      expect(first.apiCalls).toBe(4 + sizes.length);
      const contacts = await h.contacts(CONTACT_PROPS);
      expect(contacts).toEqual(new Map(range(n).map((i) => [String(i), expectedContact(i)])));

      const second = await h.run();
      expect(second.counts).toMatchObject({ added: 0, changed: 0, applied: 0 });
      expect(second.apiCalls).toBe(0);
      expect(await h.requests()).toEqual([]);
    },
  );

  it('writes 10,000 records in 100 calls of 100 and the sandbox holds exactly the model rows', async () => {
    h = await startHarness({ rows: 10_000 });
    const summary = await h.run();
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ added: 10_000, applied: 10_000, rejected: 0 });
    const log = await h.requests();
    expect(upsertSizes(log)).toEqual(range(100).map(() => 100));
    expect(log.every((r) => r.status < 300)).toBe(true);
    const contacts = await h.contacts(CONTACT_PROPS);
    expect(contacts.size).toBe(10_000);
    for (const i of [1, 2, 57, 4_999, 10_000]) expect(contacts.get(String(i))).toEqual(expectedContact(i));
    expect([...contacts.values()].filter((c) => c.pql_tier === 'hot').length).toBe(
      range(10_000).filter((i) => (i * 7) % 100 >= 70).length,
    );
  });

  it('updates only the changed records on the next run, by product_user_id, without creating new contacts', async () => {
    h = await startHarness({ rows: 300 });
    await h.run();
    await h.wh.query('update src.users set score = 99 where user_id <= 150');
    await h.mark();
    const second = await h.run();
    // user 57 already scored 99
    const changed = range(150).filter((i) => (i * 7) % 100 !== 99).length;
    expect(changed).toBe(149);
    expect(second.counts).toMatchObject({ added: 0, changed, applied: changed });
    expect(upsertSizes(await h.requests())).toEqual([100, 49]);
    const contacts = await h.contacts(['pql_score', 'pql_tier', 'is_pql']);
    expect(contacts.size).toBe(300);
    expect(contacts.get('150')).toEqual({ pql_score: '99', pql_tier: 'hot', is_pql: 'true' });
    expect(contacts.get('151')).toEqual({
      pql_score: expectedContact(151).pql_score,
      pql_tier: expectedContact(151).pql_tier,
      is_pql: expectedContact(151).is_pql,
    });
  });
});
