/**
 * Bundles the CLI (issue 22, start-up): `dist/bundle/`, ES modules split at every dynamic `import()` so a command
 * still loads only the code it needs, run by bin/pqlsync.js when present (dist/cli/main.js otherwise). The pure
 * JavaScript packages a run loads on its way to the first statement are bundled in (fewer files to resolve, read and
 * compile); the vendor SDKs, native code and everything else stay external, loaded from node_modules as before.
 * `npm run build` (and `prepare`) runs it after tsc: `node scripts/build-bundle.mjs`.
 */
import { readFile, rm } from 'node:fs/promises';
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

/** `PQLSYNC_BUNDLE_OUT` (relative to the package) builds elsewhere: the start-up test's own bundle. */
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

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  splitting: true,
  target: 'node20',
  outdir,
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
  // A bundled CommonJS package requires node's builtins (and the external packages) through this.
  banner: {
    js: "import { createRequire as __pqlsyncCreateRequire } from 'node:module'; const require = __pqlsyncCreateRequire(import.meta.url);",
  },
  plugins: [
    {
      name: 'pqlsync-externals',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith('node:') || !BUNDLED.has(packageOf(args.path))
            ? { external: true }
            : undefined,
        );
        b.onLoad({ filter: /\.ts$/ }, async (args) => {
          if (!args.path.startsWith(srcDir + path.sep)) return undefined;
          const source = await readFile(args.path, 'utf8');
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
