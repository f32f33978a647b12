#!/usr/bin/env node
// Runs the built CLI (built by `npm install` through the `prepare` script, or `npm run build`): the bundle
// (dist/bundle/pqlsync.cjs, scripts/build-bundle.mjs) when present, with a V8 code cache (bin/bundle-loader.js), it
// starts faster; tsc's dist/cli/main.js otherwise. PQLSYNC_NO_BUNDLE=1 runs dist/cli/main.js even when the bundle is
// there, and so does a bundle older than dist/cli/main.js (tsc run alone after a build); PQLSYNC_BUNDLE_OUT (a directory, relative to the package) runs the bundle built there instead.
// PQLSYNC_DEBUG_CODE_CACHE=1 prints how the code cache went (hit, miss, rejected, damaged, off) on stderr.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = path.join(path.resolve(root, process.env.PQLSYNC_BUNDLE_OUT ?? 'dist/bundle'), 'pqlsync.cjs');
const compiled = path.join(root, 'dist', 'cli', 'main.js');
/** The bundle, unless it is missing or older than tsc's output (a `tsc`-only rebuild after `npm run build`). */
function bundleIsCurrent() {
  if (process.env.PQLSYNC_NO_BUNDLE || !existsSync(bundle)) return false;
  return !existsSync(compiled) || statSync(bundle).mtimeMs >= statSync(compiled).mtimeMs;
}
if (bundleIsCurrent()) {
  const { compileBundle } = await import('./bundle-loader.js');
  const cli = compileBundle(bundle);
  if (process.env.PQLSYNC_DEBUG_CODE_CACHE) process.stderr.write(`pqlsync code cache: ${cli.status}\n`);
  // Before the bundle runs: a command may end the process itself (`--help`, a usage error).
  process.once('exit', () => cli.save());
  await cli.run().done;
} else if (existsSync(compiled)) {
  await import(compiled);
} else {
  console.error('pqlsync: dist/ is missing; run `npm run build` in the pqlsync package first.');
  process.exit(1);
}
