/**
 * Bundles the CLI (issue 22, start-up): `dist/bundle/pqlsync.cjs`, one CommonJS file, run by bin/pqlsync.js with a
 * V8 code cache (bin/bundle-loader.js) when present (dist/cli/main.js otherwise). Every module is initialised when
 * first imported (esbuild's lazy wrappers at each dynamic `import()`), so a command still runs only the code it
 * needs. The pure JavaScript packages a run loads on its way to the first statement are bundled in (fewer files to
 * resolve, read and compile); the vendor SDKs, native code and everything else stay external, required from
 * node_modules. `npm run build` (and `prepare`) runs it after tsc: `node scripts/build-bundle.mjs`.
 *
 * Why CommonJS: Node 20 has no code cache for ES modules (compiling the run's modules took about a third of a
 * no-op run's CPU), while a script compiled by `vm.Script` takes one (see bin/bundle-loader.js).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const srcDir = path.join(root, 'src');

/** Packages compiled into the bundle; any other bare import stays a runtime import or require. */
const BUNDLED = new Set([
  ...[
    'zod',
    'yaml',
    'commander',
    'dotenv',
    'bottleneck',
    'fastest-levenshtein',
    'csv-parse',
    'csv-stringify',
  ],
  ...['p-limit', 'yocto-queue', 'p-retry', 'is-network-error'],
  // DuckDB's JavaScript client (129 CommonJS files); its native bindings stay external.
  '@duckdb/node-api',
  // pino and what it loads for a plain stream (pino's transports, run in a worker by thread-stream, are unused).
  ...[
    'pino',
    'pino-std-serializers',
    'sonic-boom',
    'on-exit-leak-free',
    'atomic-sleep',
    'safe-stable-stringify',
  ],
  ...['quick-format-unescaped', '@pinojs/redact'],
]);

const packageOf = (specifier) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];

/** `createRequire(import.meta.url)('<pkg>')` (a lazy CommonJS load in src/) of a bundled package: a plain require. */
const LAZY_REQUIRE = /createRequire\(import\.meta\.url\)\((['"])([^'"]+)\1\)/g;

/** `new URL('<relative>', import.meta.url)`: a file of the package (package.json, models/, sql/) found from src/. */
const RELATIVE_URL = /new URL\((['"])(\.\.?\/[^'"]*)\1, import\.meta\.url\)/g;

/** `PQLSYNC_BUNDLE_OUT` (relative to the package) builds elsewhere: the start-up test's own bundle; bin/pqlsync.js
 * runs the bundle found there when it is set. */
const outdir = path.resolve(root, process.env.PQLSYNC_BUNDLE_OUT ?? 'dist/bundle');

/**
 * A relative URL written for `dist/<dir>/<file>.js` (tsc's output of `src/<dir>/<file>.ts`), rewritten for the
 * bundle's directory, where every chunk lives.
 */
function fromBundle(sourceFile, relative) {
  const compiled = path.resolve(root, 'dist', path.relative(srcDir, path.dirname(sourceFile)));
  const target = path.resolve(compiled, relative);
  const rewritten = path.relative(outdir, target).split(path.sep).join('/') || '.';
  return relative.endsWith('/') ? `${rewritten}/` : rewritten;
}

/** main.ts ends with a top-level await (tsc's ES module build); in the bundle the promise is exported instead, and
 * bin/pqlsync.js awaits it. */
const MAIN_AWAIT = 'await buildProgram().parseAsync(process.argv);';
const MAIN_EXPORT = 'export const done = buildProgram().parseAsync(process.argv);';
const mainFile = path.join(srcDir, 'cli', 'main.ts');

await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // An external package's `import()` becomes a require: a script compiled by `vm.Script` (the loader's code cache)
  // has no ES module loader for `import()` on Node 20 without an experimental flag. They are CommonJS packages.
  supported: { 'dynamic-import': false },
  outfile: path.join(outdir, 'pqlsync.cjs'),
  write: false,
  logLevel: 'warning',
  // import.meta.url of every module is the bundle's own URL (src/'s relative URLs are rewritten for it, below).
  define: { 'import.meta.url': '__pqlsyncImportMetaUrl' },
  plugins: [
    {
      name: 'pqlsync-externals',
      setup(b) {
        // zod's `z.locales` and `z.core.locales` (its 40-odd translations, a tenth of a run's module initialisation time here) is
        // unused: zod's English messages come from its own import of locales/en.js, not from this namespace.
        b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
          /[\\/]zod[\\/]v4[\\/](?:classic[\\/]external|core[\\/]index)\.js$/.test(args.importer)
            ? { path: 'zod-locales', namespace: 'pqlsync-empty' }
            : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'pqlsync-empty' }, () => ({
          contents: 'export {};',
          loader: 'js',
        }));
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith('node:') || !BUNDLED.has(packageOf(args.path))
            ? { external: true }
            : undefined,
        );
        b.onLoad({ filter: /\.ts$/ }, async (args) => {
          if (!args.path.startsWith(srcDir + path.sep)) return undefined;
          let source = await readFile(args.path, 'utf8');
          if (args.path === mainFile) {
            if (!source.includes(MAIN_AWAIT))
              throw new Error(`${mainFile} no longer ends with ${MAIN_AWAIT}`);
            source = source.replace(MAIN_AWAIT, MAIN_EXPORT);
          }
          return {
            loader: 'ts',
            contents: source
              .replace(LAZY_REQUIRE, (call, quote, name) =>
                BUNDLED.has(packageOf(name)) ? `require(${quote}${name}${quote})` : call,
              )
              .replace(
                RELATIVE_URL,
                (_, quote, relative) =>
                  `new URL(${quote}${fromBundle(args.path, relative)}${quote}, import.meta.url)`,
              ),
          };
        });
      },
    },
  ],
});

// The hashbang goes (the loader compiles the file as a function body), and the bundle's URL is defined after the
// "use strict" directive (before it, the directive would be an expression and the bundle would run sloppy). ASCII
// only (esbuild escapes strings but keeps comments as written): Node decodes an ASCII file several times faster,
// and V8 keeps it as a one-byte string.
const [out] = result.outputFiles;
const STRICT = '"use strict";\n';
const body = out.text.replace(/^#!.*\n/, '');
if (!body.startsWith(STRICT)) throw new Error(`the bundle does not start with ${STRICT}`);
const text =
  `${STRICT}var __pqlsyncImportMetaUrl = require('node:url').pathToFileURL(__filename).href;\n${body.slice(STRICT.length)}`.replace(
    // Every character outside ASCII (U+0000-U+007F); the range has to name NUL.
    // eslint-disable-next-line no-control-regex
    /[^\x00-\x7f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
await mkdir(outdir, { recursive: true });
await writeFile(out.path, text);
