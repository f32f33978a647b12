/**
 * The bad-input corpus through the real CLI: each case must exit with its documented code, print exactly the
 * located message recorded in `bad-input-expected.json` (reviewed by a person; `UPDATE_GOLDEN=1` rewrites it), and
 * leave the snapshot, failures and locks exactly as they were.
 */
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pLimit from 'p-limit';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { goldenUpdateRequested } from '../helpers/golden.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';
import { BAD_INPUT_CASES, BASE_CONFIG, BASE_DATA, BASE_MODEL, type BadInputCase } from './bad-input-cases.js';

const EXPECTED_FILE = new URL('./bad-input-expected.json', import.meta.url);
/** A case's recorded outcome; `failures` (key: reason) for cases that reject rows. */
type Outcome = { code: number; stdout: string; stderr: string; failures?: Record<string, string> };
const expected: Record<string, Outcome> = existsSync(EXPECTED_FILE)
  ? (JSON.parse(readFileSync(EXPECTED_FILE, 'utf8')) as Record<string, Outcome>)
  : {};

/** Drops JSON log lines (they carry times and run ids) and puts a placeholder for the temp directory. */
function normalise(text: string, dir: string): string {
  return (
    text
      .split('\n')
      .filter((l) => !l.startsWith('{"level"'))
      .join('\n')
      .split(dir)
      .join('<DIR>')
      .replace(/"runId":"[0-9a-f-]+"/g, '"runId":"<RUN>"')
      .replace(/"durationMs":\d+/g, '"durationMs":0')
      .replace(/ +\d+\.\ds$/gm, ' <T>s')
      // commander's usage text after its error line changes with every new command: keep only the error.
      .replace(/\n\nUsage: [\s\S]*$/, '\n\n(usage follows)')
      .trim()
  );
}

async function stateDigest(dbPath: string): Promise<string> {
  const wh = new DuckdbAdapter({ path: dbPath });
  await wh.connect();
  try {
    const parts: string[] = [];
    for (const t of ['users__snapshot', 'users__failures', 'locks']) {
      if (!(await wh.tableExists('pqlsync_state', t))) {
        parts.push(`${t}: none`);
        continue;
      }
      const { rows } = await wh.query(
        `select * exclude (synced_at) from pqlsync_state.${t} order by all`.replace(
          ' exclude (synced_at)',
          t === 'users__snapshot' ? ' exclude (synced_at)' : '',
        ),
      );
      parts.push(`${t}: ${JSON.stringify(rows)}`);
    }
    return parts.join('\n');
  } finally {
    await wh.close();
  }
}

/** The failures rows of the `users` sync: key → reason, by key. */
async function failureReasons(dbPath: string): Promise<Record<string, string>> {
  const wh = new DuckdbAdapter({ path: dbPath });
  await wh.connect();
  try {
    const { rows } = await wh.query('select key, reason from pqlsync_state.users__failures order by key');
    return Object.fromEntries(rows.map((r) => [String(r.key), String(r.reason)]));
  } finally {
    await wh.close();
  }
}

describe('bad-input corpus', () => {
  let seedDb: TempProject;
  const results = new Map<
    string,
    CliResult & { dir: string; before: string; after: string; failures?: Record<string, string> }
  >();

  beforeAll(async () => {
    // One baseline warehouse with data and a successful first sync; each case gets a copy of it.
    seedDb = tempProject('pqlsync-corpus-seed-');
    seedDb.writeConfig(BASE_CONFIG);
    seedDb.writeModel('scores', BASE_MODEL);
    const wh = new DuckdbAdapter({ path: path.join(seedDb.dir, 'wh.duckdb') });
    await wh.connect();
    for (const sql of BASE_DATA) await wh.query(sql);
    await wh.close();
    const first = await runCli(['run', 'users', '--json'], { cwd: seedDb.dir });
    if (first.code !== 0) throw new Error(`baseline run failed: ${first.stderr}`);

    const limit = pLimit(4);
    await Promise.all(
      BAD_INPUT_CASES.map((c) =>
        limit(async () => {
          const p = tempProject('pqlsync-corpus-');
          const db = path.join(p.dir, 'wh.duckdb');
          copyFileSync(path.join(seedDb.dir, 'wh.duckdb'), db);
          p.writeConfig(c.config ? c.config(BASE_CONFIG) : BASE_CONFIG);
          p.writeModel('scores', BASE_MODEL);
          for (const [name, text] of Object.entries(c.models ?? {})) {
            p.writeModel(name, typeof text === 'function' ? text(BASE_MODEL) : text);
          }
          if (c.data) {
            const wh = new DuckdbAdapter({ path: db });
            await wh.connect();
            for (const sql of c.data) await wh.query(sql);
            await wh.close();
          }
          for (const f of c.remove ?? []) rmSync(path.join(p.dir, f));
          const before = await stateDigest(db);
          const r = await runCli(c.args ?? ['run', 'users'], {
            cwd: p.dir,
            env: { PQLSYNC_LOG_LEVEL: 'silent', ...c.env },
          });
          const after = await stateDigest(db);
          const failures = c.rejectedKeys ? await failureReasons(db) : undefined;
          results.set(c.name, { ...r, dir: p.dir, before, after, ...(failures ? { failures } : {}) });
          p.cleanup();
        }),
      ),
    );
    // A case whose output changed fails below against the file as it was when the run began (rerun to pass).
    if (goldenUpdateRequested()) {
      const out: typeof expected = {};
      for (const c of BAD_INPUT_CASES) {
        const r = results.get(c.name)!;
        out[c.name] = {
          code: r.code ?? -1,
          stdout: normalise(r.stdout, r.dir),
          stderr: normalise(r.stderr, r.dir),
          ...(r.failures ? { failures: r.failures } : {}),
        };
      }
      writeFileSync(EXPECTED_FILE, JSON.stringify(out, null, 2) + '\n');
    }
  }, 600_000);

  afterAll(() => seedDb?.cleanup());

  it('has at least 40 cases', () => {
    expect(BAD_INPUT_CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(BAD_INPUT_CASES.map((c) => [c.name, c] as [string, BadInputCase]))('%s', (name, c) => {
    const r = results.get(name)!;
    const want = expected[name];
    expect(
      want,
      `no recorded expectation for '${name}' (run with UPDATE_GOLDEN=1 and review the file)`,
    ).toBeDefined();
    expect(r.code).toBe(c.code);
    expect(normalise(r.stderr, r.dir)).toBe(want!.stderr);
    expect(normalise(r.stdout, r.dir)).toBe(want!.stdout);
    // Rejected rows: exactly the listed keys are in failures, each with its recorded reason.
    if (c.rejectedKeys) {
      expect(Object.keys(r.failures ?? {})).toEqual(c.rejectedKeys);
      expect(r.failures).toEqual(want!.failures);
    }
    // State untouched: the snapshot, failures and locks are exactly as before the call.
    if (c.code === 2) expect(r.after).toBe(r.before);
    // Every failure message is located: it names a file, a sync, a flag or a record.
    if (c.code === 2)
      expect(`${r.stderr}${r.stdout}`).toMatch(/\.(yml|sql)|sync |--|config|command|argument/);
  });
});
