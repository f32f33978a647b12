// Runs the CLI's CommonJS bundle (scripts/build-bundle.mjs) with a V8 code cache (issue 22, start-up).
//
// Compiling the code a command runs took about a quarter of a no-op run's CPU time, every run. Here the bundle is
// compiled by `vm.Script` with the code V8 made for it last time (`cachedData`), taken as the process exits, so it
// holds every function the command ran, not only the top level. The cache is kept per command (`--help` compiles a
// tenth of what `run` does) in a directory of the user's own: $PQLSYNC_CODE_CACHE, or pqlsync-code-cache-<uid> in
// the OS temp directory (`PQLSYNC_CODE_CACHE=off` turns it off). Node 22's module.enableCompileCache() takes its
// cache when a module is compiled, before it runs: only the top level, which saved a third as much here.
//
// A cache file is named by a hash of the bundle's bytes, Node's version and flags, and the command, so a rebuilt
// bundle never meets an old cache (V8 itself checks only the source's length). Each file starts with the SHA-256
// of the rest: V8 does not verify its checksum in release builds, and a damaged cache crashed the process. A cache
// that is missing, damaged or rejected by V8 is written again (to a temporary file, then renamed) at exit; a
// directory that cannot be made, or that another user could write to, means no cache, never an error. Writing a
// cache removes those not written for a week (each build of the bundle leaves its own).
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

const DIGEST_BYTES = 32;

/** Cache files not written for this long are removed when a new one is written (old builds' caches pile up). */
const KEEP_MS = 7 * 24 * 60 * 60 * 1000;

/** The cache directory the environment names, or undefined when caching is off. */
export function codeCacheDir(env = process.env) {
  const named = env.PQLSYNC_CODE_CACHE;
  if (named === 'off' || named === '0') return undefined;
  if (named) return path.resolve(named);
  return path.join(os.tmpdir(), `pqlsync-code-cache-${process.getuid?.() ?? 'user'}`);
}

/** `dir`, made if missing, when only this user can write to it; undefined otherwise. */
function privateDir(dir) {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    if (!stat.isDirectory()) return undefined;
    if (process.getuid && (stat.uid !== process.getuid() || (stat.mode & 0o022) !== 0)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** The command a cache is kept for: the first argument when it is a word, `help` when there is none. */
export function commandOf(argv) {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first === undefined) return 'help';
  return /^[a-z][a-z-]{0,31}$/.test(first) ? first : 'other';
}

/**
 * Compiles the bundle at `file` (with the cache kept for `argv`'s command, if any). Returns how the cache went
 * (`hit`, `miss`, `rejected` by V8, `damaged`, or `off`), `run()` to run the bundle and get its exports, and
 * `save()` to write the cache when it was not a hit: call it as the process exits, once the command has run.
 */
export function compileBundle(file, { argv = process.argv.slice(2), env = process.env } = {}) {
  const bytes = readFileSync(file);
  const dir = codeCacheDir(env);
  const ownDir = dir && privateDir(dir);
  let cacheFile;
  let cachedData;
  let status = 'off';
  if (ownDir) {
    const key = createHash('sha256')
      .update(bytes)
      .update(
        `\0${process.version}\0${process.arch}\0${process.execArgv.join(' ')}\0${env.NODE_OPTIONS ?? ''}`,
      )
      .digest('hex')
      .slice(0, 20);
    cacheFile = path.join(ownDir, `${key}-${commandOf(argv)}.bin`);
    status = 'miss';
    let stored;
    try {
      stored = readFileSync(cacheFile);
    } catch {
      // none yet
    }
    if (stored) {
      const data = stored.subarray(DIGEST_BYTES);
      const digest = createHash('sha256').update(data).digest();
      if (stored.length > DIGEST_BYTES && digest.equals(stored.subarray(0, DIGEST_BYTES))) cachedData = data;
      else status = 'damaged';
    }
  }
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname) {${bytes.toString('utf8')}\n})`,
    { filename: file, cachedData },
  );
  if (cachedData) status = script.cachedDataRejected ? 'rejected' : 'hit';
  let saved = false;
  return {
    status,
    cacheFile,
    run() {
      const module = { exports: {} };
      script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
      return module.exports;
    },
    save() {
      if (saved || !cacheFile || status === 'hit') return;
      saved = true;
      const temporary = `${cacheFile}.${process.pid}.tmp`;
      try {
        const data = script.createCachedData();
        const digest = createHash('sha256').update(data).digest();
        writeFileSync(temporary, Buffer.concat([digest, data]), { mode: 0o600 });
        renameSync(temporary, cacheFile);
        pruneOld(path.dirname(cacheFile));
      } catch {
        try {
          rmSync(temporary, { force: true });
        } catch {
          // nothing more to do: the next run compiles without a cache
        }
      }
    },
  };
}

/** Removes the directory's cache (and temporary) files written more than KEEP_MS ago. */
function pruneOld(dir) {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (!/\.(bin|tmp)$/.test(name)) continue;
    const file = path.join(dir, name);
    try {
      if (now - statSync(file).mtimeMs > KEEP_MS) rmSync(file, { force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}
