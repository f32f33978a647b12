/**
 * Runs whose end could not be written to the state tables (a full disk, a warehouse gone mid-run): the run's
 * outcome is kept in a small local file instead, and the next run of the sync writes it into its runs row.
 * Without it the row would stay `running` and later read "abandoned: holder process is gone", losing the
 * error that ended the run.
 *
 * Glossary:
 * - fallback file: `.pqlsync/unrecorded-runs/<state schema>.<sync>.jsonl` beside the config (one JSON line per run), or, when
 *   that directory cannot be written (it may sit on the same full disk), the same name under the OS temp
 *   directory in `pqlsync-<hash of the config path>/`. The next run reads both.
 * - settle: the next run, holding the sync's lock, marks each kept run `failed` with its error (only a row
 *   still `running` or `abandoned`), then deletes the file.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunCounts, StateStore } from './state-store.js';

export interface UnrecordedRun {
  runId: string;
  sync: string;
  /** The state schema the runs row is in. */
  stateSchema: string;
  /** The run's error, as the runs row would have held it. */
  error: string;
  counts: RunCounts;
  apiCalls: number;
  durationMs: number;
  finishedAt: string;
}

/** The fallback files of a sync, the preferred one first. */
export function unrecordedRunFiles(configPath: string, stateSchema: string, sync: string): string[] {
  const name = `${stateSchema}.${sync}.jsonl`;
  const hash = createHash('sha256').update(path.resolve(configPath)).digest('hex').slice(0, 12);
  return [
    path.join(path.dirname(path.resolve(configPath)), '.pqlsync', 'unrecorded-runs', name),
    path.join(tmpdir(), `pqlsync-${hash}`, 'unrecorded-runs', name),
  ];
}

/** Appends the run to the first fallback file that can be written; returns its path (undefined: none could). */
export function keepUnrecordedRun(configPath: string, run: UnrecordedRun): string | undefined {
  for (const file of unrecordedRunFiles(configPath, run.stateSchema, run.sync)) {
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      appendFileSync(file, `${JSON.stringify(run)}\n`);
      return file;
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/** The kept runs of a sync in this state schema, with the files they came from. */
export function readUnrecordedRuns(
  configPath: string,
  sync: string,
  stateSchema: string,
): { runs: UnrecordedRun[]; files: string[] } {
  const runs: UnrecordedRun[] = [];
  const files: string[] = [];
  for (const file of unrecordedRunFiles(configPath, stateSchema, sync)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    files.push(file);
    for (const line of text.split('\n')) {
      try {
        const run = JSON.parse(line) as UnrecordedRun;
        if (run.sync === sync && run.stateSchema === stateSchema && typeof run.runId === 'string')
          runs.push(run);
      } catch {
        // a line cut short by the full disk: nothing to settle from it
      }
    }
  }
  return { runs, files };
}

/** Deletes fallback files once their runs are settled. */
export function forgetUnrecordedRuns(files: readonly string[]): void {
  for (const file of files) rmSync(file, { force: true });
}

/**
 * Writes the kept runs of `sync` into their runs rows (`failed`, with the error that ended them) and deletes
 * the files. Called by the run holding the sync's lock. Returns the run ids settled.
 */
export async function settleUnrecordedRuns(
  store: StateStore,
  configPath: string,
  sync: string,
): Promise<string[]> {
  const { runs, files } = readUnrecordedRuns(configPath, sync, store.schema);
  for (const run of runs) {
    await store.finishRun(
      run.runId,
      'failed',
      run.counts,
      run.apiCalls,
      run.durationMs,
      `${run.error}\n  (recorded by the next run: the state tables could not be written when this run ended)`,
      { finishedAt: new Date(run.finishedAt) },
    );
  }
  forgetUnrecordedRuns(files);
  return runs.map((r) => r.runId);
}
