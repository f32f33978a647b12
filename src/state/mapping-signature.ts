/**
 * A sync's mapping signature: what its snapshot's rows were matched by in the CRM. The snapshot says "this key
 * is in the CRM with these values", which holds only for the destination, object and match field and column it
 * was written with. A run whose mapping differs from the stored one would send every row as an update matched by
 * the new mapping, and the CRM would create a second record for each; such a run is refused (exit 2) unless it
 * says `--rematch`, which forgets the snapshot and failures and starts the sync afresh under the new mapping.
 *
 * Stored in the state schema's `mappings` table, one row per sync, as a JSON object of named parts, so a part can
 * be added later: parts missing from a stored signature (written by an older pqlsync, or before the part existed)
 * are adopted, never refused. A state with no signature at all (written before signatures) is adopted as it is.
 *
 * Glossary:
 * - part: one named piece of the signature (`destination`, `object`, `match.field`, ...), with its config path.
 */
import type { DestinationConfig } from '../config/config-schema.js';
import type { SyncTarget } from '../destination/destination.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { SqlBuilder } from '../warehouse/sql-dialect.js';
import type { StateStore } from './state-store.js';

/** The signature's parts, by name; every value is text. */
export type MappingSignature = Record<string, string>;

/** Where each part comes from in a sync's config (for messages); a part not listed is named by itself. */
const PART_PATHS: Record<string, string> = {
  destination: 'destination',
  destination_type: 'destination',
  object: 'object',
  'match.field': 'match.field',
  'match.column': 'match.column',
};

/** The signature of a sync as configured now. */
export function mappingSignature(
  target: SyncTarget,
  destination: string,
  destinationConfig: DestinationConfig | undefined,
): MappingSignature {
  return {
    destination,
    destination_type: destinationConfig?.type ?? '',
    object: target.object,
    'match.field': target.matchField,
    'match.column': target.matchColumn,
  };
}

export interface MappingChange {
  part: string;
  was: string;
  now: string;
}

/** Parts whose values differ; a part missing on either side is not a change. */
export function mappingChanges(stored: MappingSignature, current: MappingSignature): MappingChange[] {
  return Object.keys(current)
    .filter((part) => part in stored && stored[part] !== current[part])
    .map((part) => ({ part, was: stored[part] ?? '', now: current[part] ?? '' }));
}

export function mappingsTable(store: StateStore): string {
  return store.table('mappings');
}

/** The `mappings` table (ensureStateTables calls it). */
export async function ensureMappingsTable(store: StateStore): Promise<void> {
  const t = store.d.types;
  await store.wh.query(
    `create table if not exists ${mappingsTable(store)} (sync ${t.text} not null, signature ${t.text} not null,
      run_id ${t.text}, updated_at ${t.timestamp} not null)`,
  );
}

/** The stored signature of a sync, or undefined when none is stored (or the table does not exist yet). */
export async function readMappingSignature(
  store: StateStore,
  sync: string,
): Promise<MappingSignature | undefined> {
  if (!(await store.wh.tableExists(store.schema, 'mappings'))) return undefined;
  const b = new SqlBuilder(store.d);
  const { rows } = await store.wh.query(
    b.build(`select signature from ${mappingsTable(store)} where sync = ${b.param(sync, 'string')}`),
  );
  const text = rows[0]?.signature;
  if (text === undefined || text === null) return undefined;
  const parsed: unknown = JSON.parse(String(text));
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PqlsyncError(
      'STATE_INVALID',
      `the mapping signature of sync ${sync} in ${mappingsTable(store)} is not a JSON object`,
      { location: { sync } },
    );
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}

/**
 * Checks the configured mapping against the stored one, before a run plans anything. Without a change it stores
 * the signature when it is new or has gained parts. On a change it throws MAPPING_CHANGED, unless `rematch`: then
 * the snapshot and failures are forgotten and the new signature stored, in one transaction (so a run that fails
 * later still finds the new signature and carries on). In a plan (`dryRun`) nothing is written.
 */
export async function checkMappingSignature(
  store: StateStore,
  options: {
    sync: string;
    current: MappingSignature;
    runId: string;
    rematch: boolean;
    dryRun: boolean;
    configFile: string;
    now: Date;
    /** Every sync name in the config (an orphaned state is one whose sync is not among them). */
    configured: readonly string[];
  },
): Promise<{ rematched: boolean }> {
  const { sync, current, runId } = options;
  const stored = await readMappingSignature(store, sync);
  const changes = stored ? mappingChanges(stored, current) : [];
  // Counted only when a refusal may follow: a run whose mapping is stored and unchanged reads one row.
  if (!stored && !options.rematch && (await snapshotRows(store, sync)) === 0) {
    const orphan = await orphanedState(store, sync, current, options.configured);
    if (orphan) {
      throw new PqlsyncError(
        'MAPPING_CHANGED',
        `sync ${sync} has no state yet, but sync ${orphan.sync}, which is no longer in the config, has ${orphan.synced} synced records with the same destination, object and match; if ${sync} is ${orphan.sync} renamed, its first run would send them all again; refusing`,
        {
          location: { file: options.configFile, sync },
          hint: `if it was renamed, run \`pqlsync rename-sync ${orphan.sync} ${sync}\` first; to start ${sync} afresh anyway, run with --rematch`,
          details: { orphan: orphan.sync },
        },
      );
    }
  }
  if (changes.length > 0 && !options.rematch) {
    const synced = await snapshotRows(store, sync);
    const first = changes[0] as MappingChange;
    throw new PqlsyncError(
      'MAPPING_CHANGED',
      `the sync's mapping changed since its last run (${changes
        .map((c) => `${c.part} was '${c.was}', now '${c.now}'`)
        .join(
          '; ',
        )}); its ${synced} synced record${synced === 1 ? ' was' : 's were'} written under the old mapping, and sending them under the new one would make the CRM create a second record for each; refusing`,
      {
        location: {
          file: options.configFile,
          sync,
          path: `syncs.${sync}.${PART_PATHS[first.part] ?? first.part}`,
        },
        hint: `undo the change, or run with --rematch to forget the sync's snapshot and failures and send every row in full under the new mapping (records written under the old mapping stay in the CRM as they are)`,
        details: { changes },
      },
    );
  }
  if (options.dryRun) return { rematched: changes.length > 0 };
  const merged = { ...stored, ...current };
  if (stored && changes.length === 0 && Object.keys(merged).length === Object.keys(stored).length) {
    return { rematched: false };
  }
  const rematched = changes.length > 0;
  const row = [[sync, JSON.stringify(merged), runId, options.now]];
  const columns = ['sync', 'signature', 'run_id', 'updated_at'];
  // The first signature of a sync is one insert; replacing one (new parts, or --rematch) is one transaction.
  if (!stored) {
    await store.wh.insertRows(`${store.schema}.mappings`, columns, row);
    return { rematched };
  }
  await store.wh.transaction(async (tx) => {
    const b = new SqlBuilder(store.d);
    await tx.query(b.build(`delete from ${mappingsTable(store)} where sync = ${b.param(sync, 'string')}`));
    if (rematched) {
      await tx.query(`delete from ${store.snapshotTable(sync)}`);
      await tx.query(`delete from ${store.failuresTable(sync)}`);
    }
    await tx.insertRows(`${store.schema}.mappings`, columns, row);
  });
  return { rematched };
}

/** A sync not in the config whose stored mapping equals `current` and whose snapshot holds rows. */
async function orphanedState(
  store: StateStore,
  sync: string,
  current: MappingSignature,
  configured: readonly string[],
): Promise<{ sync: string; synced: number } | undefined> {
  if (!(await store.wh.tableExists(store.schema, 'mappings'))) return undefined;
  const { rows } = await store.wh.query(`select sync, signature from ${mappingsTable(store)} order by sync`);
  for (const r of rows) {
    const other = String(r.sync);
    if (other === sync || configured.includes(other)) continue;
    const signature = JSON.parse(String(r.signature)) as MappingSignature;
    const same = Object.keys(current).every((part) => signature[part] === current[part]);
    const n = same ? await snapshotRows(store, other) : 0;
    if (n > 0) return { sync: other, synced: n };
  }
  return undefined;
}

/** Rows in a sync's snapshot; 0 when it has none yet. */
async function snapshotRows(store: StateStore, sync: string): Promise<number> {
  if (!(await store.syncTablesExist(sync))) return 0;
  const { rows } = await store.wh.query(`select count(*) as n from ${store.snapshotTable(sync)}`);
  return Number(rows[0]?.n ?? 0);
}
