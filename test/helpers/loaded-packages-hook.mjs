/**
 * `node --import <this file>`: appends the name of every npm package the process loads (ESM imports through a
 * resolve hook, CommonJS requires through the CJS loader) to the file named by PQLSYNC_TEST_PACKAGE_LOG, one a
 * line. Used by test/unit/cli/startup-modules.test.ts to see what a command loads, not how long it takes.
 */
import { appendFileSync } from 'node:fs';
import process from 'node:process';
import { createRequire, register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

let out = process.env.PQLSYNC_TEST_PACKAGE_LOG;

/** The package a resolved file belongs to: the path after its last node_modules/, or undefined. */
function packageOf(file) {
  const at = file.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const parts = file.slice(at + 'node_modules/'.length).split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

function note(file) {
  const name = packageOf(file);
  if (name && out) appendFileSync(out, name + '\n');
}

/** The ESM resolve hook (runs on the loaders' thread). */
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  note(resolved.url);
  return resolved;
}

export function initialize(data) {
  out = data.out;
}

if (isMainThread && out) {
  register(import.meta.url, { data: { out } });
  const Module = createRequire(import.meta.url)('node:module');
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    try {
      note(Module._resolveFilename(request, parent, isMain));
    } catch {
      // a builtin or an unresolvable request: not a package file
    }
    return load.apply(this, arguments);
  };
}
