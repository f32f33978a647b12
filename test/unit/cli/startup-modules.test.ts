/**
 * What a command loads (issue 22, start-up): `--help`, `compile` and a run to the file destination never load a
 * vendor SDK, prom-client or OpenTelemetry; DuckDB loads only for a command that opens the warehouse. The CLI runs
 * in a child process with a hook that logs every npm package it loads; the test asserts package names, never times.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { collect, REPO_DIR, runCli } from '../../helpers/cli.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

const HOOK = fileURLToPath(new URL('../../helpers/loaded-packages-hook.mjs', import.meta.url));

/** Vendor SDKs and the metrics stack: none of them belongs to the commands tested here. */
const VENDOR = [
  'jsforce',
  '@hubspot/api-client',
  '@google-cloud/bigquery',
  'snowflake-sdk',
  '@aws-sdk/client-s3',
  '@aws-sdk/client-redshift',
  '@smithy/smithy-client',
  'pg',
  'prom-client',
  '@opentelemetry/api',
];
const DUCKDB = '@duckdb/node-api';

let project: TempProject;
let run = 0;

/**
 * Runs `pqlsync <args>` in the project and returns the packages it loaded (and its result): from source, or, given
 * a bundle directory (scripts/build-bundle.mjs), the bundle as bin/pqlsync.js runs it (with a code cache of its own).
 */
async function packagesLoadedBy(args: string[], bundle?: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const log = path.join(project.dir, `packages-${++run}.log`);
  const env = { NODE_OPTIONS: `--import ${HOOK}`, PQLSYNC_TEST_PACKAGE_LOG: log, HUBSPOT_TOKEN: 'unused' };
  const result = bundle
    ? await collect(
        spawn(process.execPath, [path.join(REPO_DIR, 'bin', 'pqlsync.js'), ...args], {
          cwd: project.dir,
          env: {
            ...process.env,
            PQLSYNC_LOG_LEVEL: 'warn',
            NODE_NO_WARNINGS: '1',
            PQLSYNC_BUNDLE_OUT: bundle,
            PQLSYNC_CODE_CACHE: path.join(project.dir, 'code-cache'),
            ...env,
            ...extraEnv,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      )
    : await runCli(args, { cwd: project.dir, env });
  // No log at all: the process loaded no package from node_modules (the bundle's --help).
  const packages = new Set(existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  rmSync(log, { force: true });
  return { result, packages };
}

beforeAll(async () => {
  project = tempProject('pqlsync-startup-');
  project.writeConfig(`warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  out: { type: file, path: output }
  hubspot: { type: hubspot, access_token: '\${HUBSPOT_TOKEN}' }
syncs:
  users:
    model: users
    destination: out
    object: Lead
    match: { field: Ext__c, column: user_id }
    fields: { Email: email }
`);
  project.writeModel(
    'users',
    `/*---\nname: users\nkey: user_id\n---*/\nselect user_id, email from app.users\n`,
  );
  const duck = new DuckdbAdapter({ path: path.join(project.dir, 'wh.duckdb') });
  await duck.connect();
  await duck.query('create schema app');
  await duck.query(
    `create table app.users as select i as user_id, 'u' || i || '@example.com' as email from range(10) t(i)`,
  );
  await duck.close();
});

afterAll(() => project.cleanup());

describe('what each command loads', () => {
  it('--help loads commander, not the config loader, the logger, DuckDB or any vendor SDK', async () => {
    const { result, packages } = await packagesLoadedBy(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: pqlsync');
    expect(packages).toContain('commander');
    for (const heavy of [...VENDOR, DUCKDB, 'zod', 'yaml', 'pino', 'bottleneck', 'cli-progress'])
      expect(packages, heavy).not.toContain(heavy);
  });

  it("a command's --help loads no more than the program's", async () => {
    const { result, packages } = await packagesLoadedBy(['run', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: pqlsync run');
    for (const heavy of [...VENDOR, DUCKDB, 'zod', 'yaml', 'pino'])
      expect(packages, heavy).not.toContain(heavy);
  });

  it('compile reads the config and the model, and loads neither DuckDB nor a vendor SDK', async () => {
    const { result, packages } = await packagesLoadedBy(['compile', 'users']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('from app.users');
    expect(packages).toContain('yaml');
    expect(packages).toContain('pino'); // a CommonJS package, loaded by require: the hook sees those too
    for (const heavy of [...VENDOR, DUCKDB]) expect(packages, heavy).not.toContain(heavy);
  });

  it('a run to the file destination loads DuckDB, and not the SDK of a destination it does not use', async () => {
    const { result, packages } = await packagesLoadedBy(['run', 'users', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      sync: 'users',
      status: 'success',
      counts: { applied: 10 },
    });
    expect(packages).toContain(DUCKDB);
    for (const heavy of VENDOR) expect(packages, heavy).not.toContain(heavy);
    // The batch writer's rate limiter, for destinations that have a rate limit: a file has none.
    expect(packages).not.toContain('bottleneck');
  });
});

/**
 * The bundle bin/pqlsync.js runs: the pure JavaScript packages (zod, yaml, pino, DuckDB's client...) are compiled in,
 * so the hook sees only what stays external: the vendor SDKs and DuckDB's native bindings. Its modules are initialised
 * at their first import, so a command still loads only what it needs.
 */
describe('what each command loads from the bundle', () => {
  const out = path.join(REPO_DIR, 'dist', `bundle-test-${process.pid}`);
  const NATIVE = '@duckdb/node-bindings';

  beforeAll(() => {
    execFileSync(process.execPath, [path.join(REPO_DIR, 'scripts', 'build-bundle.mjs')], {
      cwd: REPO_DIR,
      env: { ...process.env, PQLSYNC_BUNDLE_OUT: out },
      stdio: 'pipe',
    });
  }, 60_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('--help loads commander from the bundle, and neither DuckDB nor a vendor SDK', async () => {
    const { result, packages } = await packagesLoadedBy(['--help'], out);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: pqlsync');
    expect(packages).not.toContain('commander');
    for (const heavy of [...VENDOR, DUCKDB, NATIVE]) expect(packages, heavy).not.toContain(heavy);
  });

  it('compile loads neither DuckDB nor a vendor SDK', async () => {
    const { result, packages } = await packagesLoadedBy(['compile', 'users'], out);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('from app.users');
    for (const heavy of [...VENDOR, DUCKDB, NATIVE]) expect(packages, heavy).not.toContain(heavy);
  });

  it('a run to the file destination loads DuckDB, and not the SDK of a destination it does not use', async () => {
    const { result, packages } = await packagesLoadedBy(['run', 'users', '--json'], out);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      sync: 'users',
      status: 'success',
      counts: { applied: 0 },
    });
    expect(packages).toContain(NATIVE);
    expect(packages).not.toContain(DUCKDB); // its JavaScript client is in the bundle
    for (const heavy of VENDOR) expect(packages, heavy).not.toContain(heavy);
  });

  it("a config's errors read as they do from the source (zod's English messages, without its other locales)", async () => {
    const bad = tempProject('pqlsync-startup-bad-');
    try {
      bad.writeConfig(
        `warehouse: { type: duckdb, path: wh.duckdb, threads: many }\ndestinations: { out: { type: filee } }\nsyncs: {}\n`,
      );
      const fromSource = await runCli(['compile', 'x'], { cwd: bad.dir });
      const fromBundle = await collect(
        spawn(process.execPath, [path.join(REPO_DIR, 'bin', 'pqlsync.js'), 'compile', 'x'], {
          cwd: bad.dir,
          env: { ...process.env, PQLSYNC_BUNDLE_OUT: out, PQLSYNC_CODE_CACHE: 'off', NODE_NO_WARNINGS: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      expect(fromSource.code).toBe(2);
      expect(fromSource.stderr).toContain('warehouse.threads: expected number, got string "many"');
      expect(fromBundle).toEqual(fromSource);
    } finally {
      bad.cleanup();
    }
  });

  it("a run's code cache, taken at its exit, is used by the next run", async () => {
    const debug = { PQLSYNC_DEBUG_CODE_CACHE: '1', PQLSYNC_CODE_CACHE: path.join(project.dir, 'run-cache') };
    const first = await packagesLoadedBy(['run', 'users', '--json'], out, debug);
    expect(first.result.stderr).toBe('pqlsync code cache: miss\n');
    // Accepted only if the run leaves V8's flags as a fresh process has them (see test/unit/util/heap-flags.test.ts).
    const second = await packagesLoadedBy(['run', 'users', '--json'], out, debug);
    expect(second.result.stderr).toBe('pqlsync code cache: hit\n');
    expect(second.result.code).toBe(0);
    expect(JSON.parse(second.result.stdout)).toMatchObject({ sync: 'users', status: 'success' });
  });
});
