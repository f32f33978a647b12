// `npm test`: the typecheck and the lint run beside vitest instead of before it. Each of them is one process on
// one core, and vitest's workers leave cores idle while they wait on child processes and servers; run before it,
// their whole time (about a minute on a quiet 2-core machine) came on top of vitest's. vitest's output streams as it comes;
// the typecheck's and the lint's are printed when each ends. The commands are package.json's `typecheck` and
// `lint` scripts, run by the shell as npm would (npm has put node_modules/.bin on PATH). Exits 1 when any of
// them failed; vitest always runs to its end. Arguments go to vitest.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<'typecheck' | 'lint', string>;
};

interface Result {
  name: string;
  code: number;
}

/** Runs a shell command; `buffer` keeps its output to print when it ends. */
function run(name: string, command: string, buffer: boolean): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: buffer ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (e) => {
      process.stdout.write(`\n── ${name}: ${String(e)}\n`);
      resolve({ name, code: 1 });
    });
    child.on('close', (code, signal) => {
      if (buffer) process.stdout.write(`\n── npm run ${name}: exit ${code ?? signal} ──\n${out}`);
      resolve({ name, code: code ?? 1 });
    });
  });
}

const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
const results = await Promise.all([
  run('typecheck', scripts.typecheck, true),
  run('lint', scripts.lint, true),
  run('vitest', ['vitest', 'run', ...process.argv.slice(2).map(quote)].join(' '), false),
]);
const failed = results.filter((r) => r.code !== 0).map((r) => r.name);
if (failed.length > 0) {
  console.error(`npm test: failed: ${failed.join(', ')}`);
  process.exit(1);
}
