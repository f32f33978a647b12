/**
 * `pqlsync pull [sync...]`: reads back from each destination of the given syncs (all syncs when none) what
 * happened after the handoff (tasks, people, opportunities) into the read-back tables, incrementally: each object
 * from its watermark on, one transaction per page (rows + the watermark), so a pull that dies resumes where it
 * stopped and a rerun with nothing changed reads nothing. The watermark written with a page never passes a
 * record not yet written: records sharing the page's newest time may follow on the next page. Orchestrator: returns one result per destination and
 * never throws for a CRM's or the warehouse's failure (config errors about the arguments do throw).
 */
import type { LoadedConfig } from '../config/load-config.js';
import { createCrmReader } from '../destination/create-crm-reader.js';
import { PqlsyncError, toPqlsyncError } from '../errors/pqlsync-error.js';
import { StateStore } from '../state/state-store.js';
import type { WarehouseAdapter } from '../warehouse/warehouse-adapter.js';
import type { CrmReader, ScoredObject } from './crm-reader.js';
import { ensureReadbackTables, readWatermarks, upsertReadback, type ReadbackRow } from './readback-tables.js';

export interface PullOptions {
  loaded: LoadedConfig;
  warehouse: WarehouseAdapter;
  /** Syncs whose destinations to read back. (Default: every sync with a destination that can be read) */
  syncs?: readonly string[];
  /** (Default: the system clock) */
  now?: () => Date;
  /** Builds the reader of a destination. (Default: createCrmReader) */
  reader?: (destination: string, loaded: LoadedConfig) => Promise<CrmReader | undefined>;
}

export interface PulledObject {
  object: string;
  /** Records read in this pull. */
  read: number;
  /** The watermark after this pull (ISO-8601), null when the object has no records yet. */
  watermark: string | null;
}

export interface PullResult {
  destination: string;
  syncs: string[];
  status: 'success' | 'failed';
  objects: PulledObject[];
  apiCalls: number;
  durationMs: number;
  error?: { code: string; kind: string; message: string };
}

/** The destinations to read back and, per destination, the syncs' objects and match fields. */
export function pullTargets(
  loaded: LoadedConfig,
  syncs: readonly string[] | undefined,
): Map<string, { syncs: string[]; scored: ScoredObject[] }> {
  const all = loaded.config.syncs;
  for (const name of syncs ?? []) {
    if (!all[name])
      throw new PqlsyncError(
        'ARGS_INVALID',
        `no sync named '${name}' in ${loaded.configPath} (syncs: ${Object.keys(all).join(', ') || 'none'})`,
      );
  }
  const out = new Map<string, { syncs: string[]; scored: ScoredObject[] }>();
  for (const name of syncs && syncs.length > 0 ? syncs : Object.keys(all)) {
    const sync = all[name]!;
    const type = loaded.config.destinations[sync.destination]?.type;
    if (type !== 'salesforce' && type !== 'hubspot') {
      if (syncs && syncs.length > 0)
        throw new PqlsyncError(
          'ARGS_INVALID',
          `sync ${name} writes to a ${type ?? 'missing'} destination, which pull cannot read back`,
          { location: { sync: name }, hint: 'pull reads back Salesforce and HubSpot destinations' },
        );
      continue;
    }
    const entry = out.get(sync.destination) ?? { syncs: [], scored: [] };
    entry.syncs.push(name);
    entry.scored.push({ object: sync.object, matchField: sync.match.field });
    out.set(sync.destination, entry);
  }
  return out;
}

export async function pullCrm(options: PullOptions): Promise<PullResult[]> {
  const { loaded, warehouse } = options;
  const now = options.now ?? (() => new Date());
  const makeReader = options.reader ?? createCrmReader;
  const state = new StateStore(warehouse, loaded.config.state.schema, now);
  const results: PullResult[] = [];
  for (const [destination, target] of pullTargets(loaded, options.syncs)) {
    const started = Date.now();
    const objects: PulledObject[] = [];
    let reader: CrmReader | undefined;
    try {
      reader = await makeReader(destination, loaded);
      if (!reader) continue;
      await ensureReadbackTables(state);
      const watermarks = await readWatermarks(state, destination);
      for (const object of reader.objects(target.scored)) {
        let watermark = watermarks.get(object.object) ?? null;
        let read = 0;
        // The newest modification time read so far. Records sharing it may still follow on the next page, so a
        // page's rows go with the newest time of an earlier page only (every record at or before it is read);
        // the newest time itself is written once the reader is done.
        let newest: Date | null = null;
        const write = (rows: ReadbackRow[]) =>
          upsertReadback(state, object.table, destination, rows, {
            object: object.object,
            value: watermark,
            records: read,
            at: now(),
          });
        for await (const page of reader.read(object, target.scored, watermark)) {
          if (page.rows.length === 0) continue;
          read += page.rows.length;
          if (page.newest) {
            if (newest && newest < page.newest && (!watermark || newest > watermark)) watermark = newest;
            if (!newest || page.newest > newest) newest = page.newest;
          }
          await write(page.rows);
        }
        if (newest && (!watermark || newest > watermark)) {
          watermark = newest;
          await write([]);
        }
        objects.push({ object: object.object, read, watermark: watermark?.toISOString() ?? null });
      }
      results.push(result(destination, target.syncs, 'success', objects, reader, started));
    } catch (err) {
      const e = toPqlsyncError(err);
      results.push({
        ...result(destination, target.syncs, 'failed', objects, reader, started),
        error: { code: e.code, kind: e.kind, message: e.format() },
      });
    } finally {
      await reader?.close();
    }
  }
  return results;
}

function result(
  destination: string,
  syncs: string[],
  status: PullResult['status'],
  objects: PulledObject[],
  reader: CrmReader | undefined,
  started: number,
): PullResult {
  return {
    destination,
    syncs,
    status,
    objects,
    apiCalls: reader?.apiCalls() ?? 0,
    durationMs: Date.now() - started,
  };
}
