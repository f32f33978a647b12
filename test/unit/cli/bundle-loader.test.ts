/**
 * bin/pqlsync.js runs the CLI's CommonJS bundle through bin/bundle-loader.js with a V8 code cache (issue 22,
 * start-up). Each test runs the real bin on a small bundle of its own (PQLSYNC_BUNDLE_OUT) with its own cache
 * directory, and reads how the cache went from PQLSYNC_DEBUG_CODE_CACHE's line on stderr: the cache is taken at
 * exit and used by the next process of the same command; a damaged, stale or refused cache, or a directory others
 * could write to, costs a compile and never a failure.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, REPO_DIR } from '../../helpers/cli.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

const BIN = path.join(REPO_DIR, 'bin', 'pqlsync.js');

let dir: TempProject;
let bundleDir: string;
let cacheDir: string;

/** A bundle as scripts/build-bundle.mjs makes one: CommonJS, exporting the command's promise as `done`. */
function writeBundle(body: string): void {
  writeFileSync(
    path.join(bundleDir, 'pqlsync.cjs'),
    `"use strict";
const os = require('node:os');
function answer(args) { return JSON.stringify({ args, file: __filename, cpus: os.cpus().length > 0 }); }
${body}
`,
  );
}

async function bin(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = await collect(
    spawn(process.execPath, [BIN, ...args], {
      cwd: dir.dir,
      env: {
        ...process.env,
        PQLSYNC_BUNDLE_OUT: bundleDir,
        PQLSYNC_CODE_CACHE: cacheDir,
        PQLSYNC_DEBUG_CODE_CACHE: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const cache = /^pqlsync code cache: (\w+)$/m.exec(result.stderr)?.[1];
  return { ...result, cache };
}

const cacheFiles = () => readdirSync(cacheDir).sort();

beforeEach(() => {
  dir = tempProject('pqlsync-bundle-loader-');
  bundleDir = path.join(dir.dir, 'bundle');
  cacheDir = path.join(dir.dir, 'cache');
  mkdirSync(bundleDir);
  writeBundle(`exports.done = (async () => { console.log(answer(process.argv.slice(2))); })();`);
});

afterEach(() => dir.cleanup());

describe('the code cache of the bundled CLI', () => {
  it('is taken at the first run of a command and used by the next; each command has its own', async () => {
    const first = await bin(['run', 'users']);
    expect(first.stdout).toBe(
      `${JSON.stringify({ args: ['run', 'users'], file: path.join(bundleDir, 'pqlsync.cjs'), cpus: true })}\n`,
    );
    expect(first.cache).toBe('miss');
    expect(cacheFiles()).toEqual([expect.stringMatching(/^[0-9a-f]{20}-run\.bin$/)]);

    const second = await bin(['run', 'users']);
    expect(second.cache).toBe('hit');
    expect(second.stdout).toBe(first.stdout);

    expect((await bin(['--help'])).cache).toBe('miss');
    expect((await bin([])).cache).toBe('hit'); // no command: the same cache as --help
    expect(cacheFiles()).toEqual([expect.stringMatching(/-help\.bin$/), expect.stringMatching(/-run\.bin$/)]);
  });

  it('is written when the bundle ends the process itself (as --help and usage errors do)', async () => {
    writeBundle(`console.log('usage'); process.exit(0);`);
    expect((await bin(['--help'])).cache).toBe('miss');
    const again = await bin(['--help']);
    expect(again.cache).toBe('hit');
    expect(again.stdout).toBe('usage\n');
  });

  it('of an earlier build is never used for a rebuilt bundle', async () => {
    await bin(['run']);
    expect((await bin(['run'])).cache).toBe('hit');
    // The same length (all V8 itself checks), other code.
    writeBundle(`exports.done = (async () => { console.log(answer(process.argv.slice(3))); })();`);
    const rebuilt = await bin(['run', 'users']);
    expect(rebuilt.cache).toBe('miss');
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ args: ['users'] });
    expect(cacheFiles()).toHaveLength(2);
  });

  it('that is damaged is not given to V8, and is written again', async () => {
    await bin(['run']);
    const [file] = cacheFiles();
    const stored = readFileSync(path.join(cacheDir, file!));
    stored[Math.floor(stored.length / 2)]! ^= 0xff; // V8 does not check its own checksum: this crashed it
    writeFileSync(path.join(cacheDir, file!), stored);
    const damaged = await bin(['run', 'users']);
    expect(damaged.code).toBe(0);
    expect(damaged.cache).toBe('damaged');
    expect(JSON.parse(damaged.stdout)).toMatchObject({ args: ['run', 'users'] });
    expect((await bin(['run'])).cache).toBe('hit');

    writeFileSync(path.join(cacheDir, file!), 'short');
    expect((await bin(['run'])).cache).toBe('damaged');
    expect((await bin(['run'])).cache).toBe('hit');
  });

  it('that V8 refuses (made for another source) is written again', async () => {
    await bin(['run']);
    const [made] = cacheFiles();
    writeBundle(
      `exports.done = (async () => { console.log('a longer bundle', answer(process.argv.slice(2))); })();`,
    );
    await bin(['run']);
    const other = cacheFiles().find((f) => f !== made);
    // The old bundle's cache under the new bundle's name: its digest is right, its source length is not.
    writeFileSync(path.join(cacheDir, other!), readFileSync(path.join(cacheDir, made!)));
    const refused = await bin(['run', 'users']);
    expect(refused.cache).toBe('rejected');
    expect(refused.stdout).toContain('a longer bundle');
    expect((await bin(['run'])).cache).toBe('hit');
  });

  it("removes caches not written for a week (an old build's) when it writes one", async () => {
    mkdirSync(cacheDir);
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 60 * 60 * 1000);
    for (const name of ['0123456789abcdef0123-run.bin', '0123456789abcdef0123-run.bin.77.tmp']) {
      writeFileSync(path.join(cacheDir, name), 'old');
      utimesSync(path.join(cacheDir, name), eightDaysAgo, eightDaysAgo);
    }
    writeFileSync(path.join(cacheDir, 'fedcba9876543210fedc-run.bin'), 'recent');
    writeFileSync(path.join(cacheDir, 'notes.txt'), 'not a cache');
    utimesSync(path.join(cacheDir, 'notes.txt'), eightDaysAgo, eightDaysAgo);
    expect((await bin(['run'])).cache).toBe('miss');
    const left = cacheFiles();
    expect(left).toHaveLength(3);
    expect(left).toContain('fedcba9876543210fedc-run.bin');
    expect(left).toContain('notes.txt');
    expect(left.filter((f) => f.startsWith('0123456789abcdef0123'))).toEqual([]);
  });

  it('is off in a directory other users can write to, or when turned off; the CLI runs either way', async () => {
    mkdirSync(cacheDir);
    chmodSync(cacheDir, 0o777);
    const shared = await bin(['run']);
    expect(shared.cache).toBe('off');
    expect(shared.code).toBe(0);
    expect(cacheFiles()).toEqual([]);

    chmodSync(cacheDir, 0o700);
    const off = await bin(['run'], { PQLSYNC_CODE_CACHE: 'off' });
    expect(off.cache).toBe('off');
    expect(JSON.parse(off.stdout)).toMatchObject({ args: ['run'] });
    expect(cacheFiles()).toEqual([]);

    writeFileSync(path.join(dir.dir, 'not-a-dir'), '');
    const unusable = await bin(['run'], { PQLSYNC_CODE_CACHE: path.join(dir.dir, 'not-a-dir') });
    expect(unusable.cache).toBe('off');
    expect(unusable.code).toBe(0);
  });
});

describe('bin/pqlsync.js: which build it runs', () => {
  /** A package of its own: the real bin files, a bundle and a tsc entry point that each say which they are. */
  function fakePackage(): { bin: string; bundle: string; compiled: string } {
    const pkg = path.join(dir.dir, 'pkg');
    for (const sub of ['bin', 'dist/bundle', 'dist/cli']) mkdirSync(path.join(pkg, sub), { recursive: true });
    for (const file of ['pqlsync.js', 'bundle-loader.js'])
      writeFileSync(path.join(pkg, 'bin', file), readFileSync(path.join(REPO_DIR, 'bin', file)));
    const bundle = path.join(pkg, 'dist', 'bundle', 'pqlsync.cjs');
    const compiled = path.join(pkg, 'dist', 'cli', 'main.js');
    writeFileSync(bundle, `"use strict";\nexports.done = (async () => { console.log('bundle'); })();\n`);
    writeFileSync(compiled, `console.log('compiled');\n`);
    return { bin: path.join(pkg, 'bin', 'pqlsync.js'), bundle, compiled };
  }
  const withoutBundleEnv = () =>
    Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PQLSYNC_')));
  const runBin = async (file: string) =>
    (
      await collect(
        spawn(process.execPath, [file], {
          cwd: dir.dir,
          env: { ...withoutBundleEnv(), PQLSYNC_CODE_CACHE: 'off' },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      )
    ).stdout.trim();

  // Fails with the bin choosing the bundle whenever it exists (the stale bundle ran after a tsc-only rebuild).
  it('the bundle when it is at least as new as tsc output, tsc output when the bundle is older or turned off', async () => {
    const pkg = fakePackage();
    const t = Date.now() / 1000;
    utimesSync(pkg.compiled, t - 60, t - 60);
    utimesSync(pkg.bundle, t - 30, t - 30);
    expect(await runBin(pkg.bin)).toBe('bundle');
    utimesSync(pkg.compiled, t, t);
    expect(await runBin(pkg.bin)).toBe('compiled');
    utimesSync(pkg.bundle, t + 1, t + 1);
    expect(await runBin(pkg.bin)).toBe('bundle');
  });
});
