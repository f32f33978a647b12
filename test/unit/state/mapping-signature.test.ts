/**
 * A sync's mapping signature (src/state/mapping-signature.ts) in-process on DuckDB: stored on the first run,
 * extended with new parts, refused when a part changed (unless --rematch, which forgets the snapshot and failures
 * in one transaction), nothing written by a plan, and a new sync refused when a sync no longer in the config has
 * synced records under the same mapping (a rename). Full error messages are asserted.
 *
 * Written for the mutation run (issue 24): each test names the mutants it was checked against by hand (the
 * mutant applied to src, the test seen failing, the mutant reverted).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DestinationConfig } from '../../../src/config/config-schema.js';
import type { SyncTarget } from '../../../src/destination/destination.js';
import {
  checkMappingSignature,
  mappingChanges,
  mappingSignature,
  readMappingSignature,
  type MappingSignature,
} from '../../../src/state/mapping-signature.js';
import type { StateStore } from '../../../src/state/state-store.js';
import { FaultyWarehouse } from '../../helpers/faulty-warehouse.js';
import { caught, openState, SCHEMA, SYNC, tableRows, type StateFixture } from './state-fixture.js';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const SIG: MappingSignature = {
  destination: 'crm',
  destination_type: 'salesforce',
  object: 'Lead',
  'match.field': 'Ext__c',
  'match.column': 'user_id',
};

let fx: StateFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const check = (
  store: StateStore,
  over: Partial<Parameters<typeof checkMappingSignature>[1]> = {},
): ReturnType<typeof checkMappingSignature> =>
  checkMappingSignature(store, {
    sync: SYNC,
    current: SIG,
    runId: 'r1',
    rematch: false,
    dryRun: false,
    configFile: 'pqlsync.yml',
    now: NOW,
    configured: [SYNC],
    ...over,
  });

async function snapshotKeys(store: StateStore, sync: string, keys: string[]): Promise<void> {
  await store.ensureSyncTables(sync);
  await store.wh.insertRows(
    `${SCHEMA}.${sync}__snapshot`,
    ['key', 'row_hash', 'synced_at', 'run_id'],
    keys.map((k) => [k, 'h', NOW, 'r0']),
  );
}

async function storeSignature(store: StateStore, sync: string, signature: unknown): Promise<void> {
  await store.wh.insertRows(
    `${SCHEMA}.mappings`,
    ['sync', 'signature', 'run_id', 'updated_at'],
    [[sync, JSON.stringify(signature), 'r0', NOW]],
  );
}

const mappings = async (store: StateStore) =>
  (await tableRows(store, 'mappings', 'sync')).map((r) => [
    r.sync,
    JSON.parse(String(r.signature)),
    r.run_id,
  ]);

describe('mappingSignature and mappingChanges', () => {
  const target = { object: 'Lead', matchField: 'Ext__c', matchColumn: 'user_id' } as SyncTarget;

  // Checked by hand against `destinationConfig?.type ?? ''` → `?? 'x'` and each part's value emptied.
  it('names the destination, its type, the object and the match field and column', () => {
    expect(mappingSignature(target, 'crm', { type: 'salesforce' } as DestinationConfig)).toEqual(SIG);
    expect(mappingSignature(target, 'crm', undefined).destination_type).toBe('');
  });

  // Checked by hand against `part in stored` dropped (a part new to the signature counted as a change) and the
  // `!==` → `===`.
  it('lists parts whose values differ; a part missing on either side is not a change', () => {
    const { object: _object, ...older } = SIG;
    expect(mappingChanges(SIG, SIG)).toEqual([]);
    expect(mappingChanges(older, { ...SIG, 'match.field': 'Other__c' })).toEqual([
      { part: 'match.field', was: 'Ext__c', now: 'Other__c' },
    ]);
    expect(mappingChanges({ ...SIG, extra: 'x' }, older)).toEqual([]);
  });
});

describe('readMappingSignature', () => {
  // Checked by hand against the table check dropped (a query on a missing table), `text === undefined ||
  // text === null` → `false` (JSON.parse of undefined), the object check's parts dropped one at a time, and the
  // values' `String(v)` dropped.
  it('reads none before the table or the row exists; refuses a signature that is not a JSON object', async () => {
    fx = await openState();
    const { store, wh } = fx;
    expect(await readMappingSignature(store, SYNC)).toBeUndefined();
    await storeSignature(store, 'numbers', { destination: 'crm', version: 2 });
    expect(await readMappingSignature(store, 'numbers')).toEqual({ destination: 'crm', version: '2' });
    for (const bad of [[1, 2], null, 42]) {
      await wh.query(`delete from ${store.table('mappings')}`);
      await storeSignature(store, SYNC, bad);
      const err = await caught(readMappingSignature(store, SYNC));
      expect(err.toJSON()).toEqual({
        code: 'STATE_INVALID',
        kind: 'system',
        message: `the mapping signature of sync ${SYNC} in "${SCHEMA}"."mappings" is not a JSON object`,
        location: { sync: SYNC },
      });
    }
    await wh.query(`drop table ${store.table('mappings')}`);
    expect(await readMappingSignature(store, SYNC)).toBeUndefined();
  });
});

describe('checkMappingSignature', () => {
  // Checked by hand against the first signature's insert dropped, the unchanged shortcut's conditions dropped one
  // at a time (a rewrite when nothing changed: updated_at moves), and `merged` → `current` (a stored part the
  // config no longer names dropped).
  it('stores the first signature, keeps an unchanged one, and adds new parts to a stored one', async () => {
    const calls: string[] = [];
    fx = await openState({
      wrap: (wh) =>
        new FaultyWarehouse(wh, [
          { method: 'insertRows', before: (c) => void calls.push(`insertRows ${c.sql}`) },
          { method: 'transaction', before: () => void calls.push('transaction') },
        ]),
    });
    const { store } = fx;
    expect(await check(store)).toEqual({ rematched: false });
    expect(await mappings(store)).toEqual([[SYNC, SIG, 'r1']]);
    expect(await check(store, { runId: 'r2' })).toEqual({ rematched: false });
    expect(calls).toEqual([`insertRows ${SCHEMA}.mappings`]);

    const { object: _object, ...older } = SIG;
    await store.wh.query(`delete from ${store.table('mappings')}`);
    await storeSignature(store, SYNC, { ...older, legacy: 'kept' });
    await snapshotKeys(store, SYNC, ['a']);
    calls.length = 0;
    expect(await check(store, { runId: 'r3' })).toEqual({ rematched: false });
    expect(calls).toEqual(['transaction', `insertRows ${SCHEMA}.mappings`]);
    expect(await mappings(store)).toEqual([[SYNC, { ...older, legacy: 'kept', object: 'Lead' }, 'r3']]);
    expect((await tableRows(store, `${SYNC}__snapshot`)).map((r) => r.key)).toEqual(['a']);
  });

  // Checked by hand against `changes.length > 0 && !options.rematch` → `||` / `>= 0`, the plural's `synced === 1`
  // → `!== 1`, the path's `PART_PATHS[first.part] ?? first.part` → `first.part` for a part named elsewhere and the
  // changes' `join('; ')` → `join('')`.
  it('refuses a changed mapping, naming each change, the synced records and the config path', async () => {
    fx = await openState();
    const { store } = fx;
    await storeSignature(store, SYNC, SIG);
    await snapshotKeys(store, SYNC, ['a']);
    const err = await caught(
      check(store, { current: { ...SIG, destination_type: 'hubspot', object: 'contacts' } }),
    );
    expect(err.toJSON()).toEqual({
      code: 'MAPPING_CHANGED',
      kind: 'config',
      message:
        "the sync's mapping changed since its last run (destination_type was 'salesforce', now 'hubspot'; object was 'Lead', now 'contacts'); its 1 synced record was written under the old mapping, and sending them under the new one would make the CRM create a second record for each; refusing",
      location: { file: 'pqlsync.yml', sync: SYNC, path: `syncs.${SYNC}.destination` },
      hint: "undo the change, or run with --rematch to forget the sync's snapshot and failures and send every row in full under the new mapping (records written under the old mapping stay in the CRM as they are)",
      details: {
        changes: [
          { part: 'destination_type', was: 'salesforce', now: 'hubspot' },
          { part: 'object', was: 'Lead', now: 'contacts' },
        ],
      },
    });
    await store.wh.insertRows(
      `${SCHEMA}.${SYNC}__snapshot`,
      ['key', 'row_hash', 'synced_at', 'run_id'],
      [['b', 'h', NOW, 'r0']],
    );
    const two = await caught(check(store, { current: { ...SIG, shard: 'x', 'match.column': 'email' } }));
    expect(two.message).toContain('its 2 synced records were written under the old mapping');
    expect(two.location.path).toBe(`syncs.${SYNC}.match.column`);
    await store.wh.query(`delete from ${store.table('mappings')}`);
    await storeSignature(store, SYNC, { ...SIG, shard: 'a' });
    expect((await caught(check(store, { current: { ...SIG, shard: 'b' } }))).location.path).toBe(
      `syncs.${SYNC}.shard`,
    );
  });

  // Checked by hand against `if (options.dryRun)` → `false` (a plan would forget the snapshot), the dry run's
  // `changes.length > 0` → `>= 0`, `if (rematched)` → `false` (the snapshot kept) and → `true` (an extended
  // signature forgetting the snapshot), and the transaction's delete of the old signature dropped.
  it('with --rematch forgets the snapshot and failures and stores the new signature; a plan writes nothing', async () => {
    fx = await openState();
    const { store } = fx;
    await storeSignature(store, SYNC, SIG);
    await snapshotKeys(store, SYNC, ['a', 'b']);
    await store.wh.insertRows(
      `${SCHEMA}.${SYNC}__failures`,
      ['key', 'reason', 'attempts', 'first_seen', 'last_seen', 'run_id'],
      [['c', 'no', 1, NOW, NOW, 'r0']],
    );
    const current = { ...SIG, 'match.field': 'Email' };
    expect(await check(store, { current, rematch: true, dryRun: true })).toEqual({ rematched: true });
    expect(await check(store, { rematch: true, dryRun: true })).toEqual({ rematched: false });
    expect(await mappings(store)).toEqual([[SYNC, SIG, 'r0']]);
    expect((await tableRows(store, `${SYNC}__snapshot`)).length).toBe(2);

    expect(await check(store, { current, rematch: true, runId: 'r5' })).toEqual({ rematched: true });
    expect(await mappings(store)).toEqual([[SYNC, current, 'r5']]);
    expect(await tableRows(store, `${SYNC}__snapshot`)).toEqual([]);
    expect(await tableRows(store, `${SYNC}__failures`)).toEqual([]);
  });

  // Checked by hand against the orphan check's conditions (`!stored`, `!options.rematch`, snapshot `=== 0`)
  // dropped one at a time, `other === sync || configured.includes(other)` parts dropped, the signature's `every`
  // → `some`, `n > 0` → `>= 0`, and the message's sync names swapped.
  it('refuses a new sync while a sync no longer configured has synced records under the same mapping', async () => {
    fx = await openState({ syncTables: false });
    const { store } = fx;
    await storeSignature(store, 'old_users', SIG);
    await storeSignature(store, 'still_here', SIG);
    await storeSignature(store, 'elsewhere', { ...SIG, object: 'Contact' });
    await storeSignature(store, 'emptied', SIG);
    await snapshotKeys(store, 'old_users', ['a', 'b', 'c']);
    await snapshotKeys(store, 'still_here', ['a']);
    await snapshotKeys(store, 'elsewhere', ['a']);
    await snapshotKeys(store, 'emptied', []);
    const configured = [SYNC, 'still_here'];
    const err = await caught(check(store, { configured }));
    expect(err.toJSON()).toEqual({
      code: 'MAPPING_CHANGED',
      kind: 'config',
      message: `sync ${SYNC} has no state yet, but sync old_users, which is no longer in the config, has 3 synced records with the same destination, object and match; if ${SYNC} is old_users renamed, its first run would send them all again; refusing`,
      location: { file: 'pqlsync.yml', sync: SYNC },
      hint: `if it was renamed, run \`pqlsync rename-sync old_users ${SYNC}\` first; to start ${SYNC} afresh anyway, run with --rematch`,
      details: { orphan: 'old_users' },
    });
    // Configured, another mapping, or no synced records: not an orphan. --rematch starts afresh anyway.
    expect(await check(store, { configured: [...configured, 'old_users'] })).toEqual({ rematched: false });
    await store.wh.query(`delete from ${store.table('mappings')} where sync = '${SYNC}'`);
    expect(await check(store, { configured, rematch: true, runId: 'r9' })).toEqual({ rematched: false });
    expect((await mappings(store)).find((m) => m[0] === SYNC)).toEqual([SYNC, SIG, 'r9']);
  });

  // Killed after the first Stryker run: orphanedState's table check forced false (a plan before any run, whose
  // state has no mappings table, would fail on it).
  it('plans (writes nothing) on a state without a mappings table', async () => {
    fx = await openState({ syncTables: false });
    const { store, wh } = fx;
    await wh.query(`drop table ${store.table('mappings')}`);
    expect(await check(store, { dryRun: true })).toEqual({ rematched: false });
    expect(await wh.tableExists(SCHEMA, 'mappings')).toBe(false);
  });

  // Checked by hand against the orphan check run when this sync already has synced records (`=== 0` dropped) or
  // a stored signature (`!stored` dropped).
  it('looks for no orphan when this sync has synced records or a stored signature of its own', async () => {
    fx = await openState({ syncTables: false });
    const { store } = fx;
    await storeSignature(store, 'old_users', SIG);
    await snapshotKeys(store, 'old_users', ['a']);
    await snapshotKeys(store, SYNC, ['x']);
    expect(await check(store)).toEqual({ rematched: false });
    expect((await mappings(store)).map((m) => m[0])).toEqual(['old_users', SYNC]);
    // A stored signature: this sync has run (its snapshot may be empty, every record refused so far).
    await store.wh.query(`delete from ${store.snapshotTable(SYNC)}`);
    expect(await check(store)).toEqual({ rematched: false });
  });
});
