#!/usr/bin/env node
// Runs the built CLI (built by `npm install` through the `prepare` script, or `npm run build`): the bundle
// (dist/bundle/, scripts/build-bundle.mjs) when present, it starts faster; tsc's dist/cli/main.js otherwise.
// PQLSYNC_NO_BUNDLE=1 runs dist/cli/main.js even when the bundle is there.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/bundle/main.js', import.meta.url));
const compiled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const entry = !process.env.PQLSYNC_NO_BUNDLE && existsSync(bundle) ? bundle : compiled;
if (!existsSync(entry)) {
  console.error('pqlsync: dist/ is missing; run `npm run build` in the pqlsync package first.');
  process.exit(1);
}
await import(entry);
