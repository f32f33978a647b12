/**
 * The CLI as a user runs it (issue 22): the built `pqlsync` bin, one process per command, on DuckDB with the file
 * destination and the config's defaults. Start-up (`--help`, `compile`), a no-op run on 10 rows, a run of 10k rows
 * with 1% changed, and a 1M-row `plan` and first sync; for each, the wall time (median of several runs where
 * cheap), the process's CPU time and its whole-process peak RSS (the kernel's maximum resident set size of the child,
 * read by a preload at exit: plan phase, streaming and all). Part of `npm run bench` (`--no-cli` skips it);
 * `node --import tsx test/bench/bench-cli.ts [--no-1m]` runs it alone. `BENCH_PQLSYNC_BIN` measures another build's
 * bin (a before/after comparison). The bundle's code cache (bin/bundle-loader.js) is kept per command: a command's
 * first process after a build runs without it, the medians are of runs with it, and one case runs with it off. Wall
 * times on a busy machine are mostly waiting for a core: each target line shows the CPU time beside it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { writeBenchProject } from './bench-project.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface CliCase {
  name: string;
  /** Median wall time, ms. */
  wallMs: number;
  /** CPU time (user + system) of the run with the median wall time, ms. */
  cpuMs: number;
  /** Whole-process peak RSS, bytes (the largest over the runs). */
  peakRssBytes: number;
  runs: number;
  /** The target, if the issue set one: `max` ms or bytes for `of`. */
  target?: { of: 'wallMs' | 'peakRssBytes'; max: number; label: string };
}

/** At exit, the child writes its rusage (peak RSS in kB, CPU in µs) to the file named by the environment. */
const PRELOAD = `data:text/javascript,${encodeURIComponent(
  `import { writeFileSync } from 'node:fs';
const out = process.env.PQLSYNC_BENCH_RUSAGE;
if (out) process.on('exit', () => {
  const u = process.resourceUsage();
  writeFileSync(out, JSON.stringify({ maxRSS: u.maxRSS, cpu: u.userCPUTime + u.systemCPUTime }));
});`,
)}`;

interface Measured {
  wallMs: number;
  cpuMs: number;
  peakRssBytes: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One `pqlsync <args>` process in `cwd`: wall time from spawn to exit, and its own rusage. */
function measure(bin: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Measured> {
  const usageFile = path.join(cwd, `.rusage-${process.pid}.json`);
  rmSync(usageFile, { force: true });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', PRELOAD, bin, ...args], {
      cwd,
      env: {
        ...process.env,
        PQLSYNC_BENCH_RUSAGE: usageFile,
        PQLSYNC_LOG_LEVEL: 'warn',
        NODE_OPTIONS: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      try {
        const u = JSON.parse(readFileSync(usageFile, 'utf8')) as { maxRSS: number; cpu: number };
        resolve({ wallMs, cpuMs: u.cpu / 1000, peakRssBytes: u.maxRSS * 1024, code, stdout, stderr });
      } catch {
        resolve({ wallMs, cpuMs: Number.NaN, peakRssBytes: Number.NaN, code, stdout, stderr });
      }
    });
  });
}

/** `times` runs of `pqlsync <args>` (after `before` each), summarised by the median wall time. */
async function repeat(
  name: string,
  bin: string,
  args: string[],
  cwd: string,
  times: number,
  before: () => Promise<void> = async () => {},
  env: NodeJS.ProcessEnv = {},
): Promise<CliCase> {
  const runs: Measured[] = [];
  for (let i = 0; i < times; i++) {
    await before();
    const m = await measure(bin, args, cwd, env);
    if (m.code !== 0) throw new Error(`pqlsync ${args.join(' ')} exited ${m.code}: ${m.stderr}${m.stdout}`);
    runs.push(m);
  }
  const sorted = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return {
    name,
    wallMs: median.wallMs,
    cpuMs: median.cpuMs,
    peakRssBytes: Math.max(...runs.map((r) => r.peakRssBytes)),
    runs: times,
  };
}

/** A project in a temp directory: `users` rows in bench.scores (DuckDB), one sync to the file destination. */
async function benchProject(users: number): Promise<{ dir: string; exec: (sql: string) => Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-bench-cli-'));
  writeBenchProject(dir);
  // The bench's own connection writes the data and closes before each pqlsync process opens the file.
  const exec = async (sql: string) => {
    const duck = new DuckdbAdapter({ path: path.join(dir, 'wh.duckdb') });
    await duck.connect();
    try {
      await duck.query(sql);
    } finally {
      await duck.close();
    }
  };
  await exec('create schema bench');
  await exec(`create table bench.scores as
    select i as user_id, 'user' || i || '@example.com' as email, cast(hash(i) % 100 as integer) as pql_score,
      case when hash(i) % 100 >= 70 then 'hot' when hash(i) % 100 >= 40 then 'pql' else 'nurture' end as pql_tier,
      'created ' || (hash(i + 1) % 20) || ' dashboards in 14 days; invited ' || (hash(i + 2) % 5) || ' teammates' as reasons
    from range(1, ${users + 1}) t(i)`);
  return { dir, exec };
}

/** Builds dist/ and the bundle (as `npm run build` does) unless another bin is measured, and runs every CLI case. */
export async function runCliBench(options: { oneMillion?: boolean } = {}): Promise<CliCase[]> {
  let bin = process.env.BENCH_PQLSYNC_BIN && path.resolve(process.env.BENCH_PQLSYNC_BIN);
  if (!bin) {
    execFileSync(
      process.execPath,
      [
        path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        path.join(root, 'tsconfig.build.json'),
      ],
      { stdio: 'inherit' },
    );
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build-bundle.mjs')], {
      cwd: root,
      stdio: 'inherit',
    });
    bin = path.join(root, 'bin', 'pqlsync.js');
  }
  const out: CliCase[] = [];
  const say = (line: string) => process.stderr.write(`bench-cli: ${line}\n`);

  const small = await benchProject(10);
  try {
    say('start-up');
    out.push({
      ...(await repeat('pqlsync --help', bin, ['--help'], small.dir, 9)),
      target: { of: 'wallMs', max: 200, label: '<= 0.2 s' },
    });
    out.push(await repeat('pqlsync compile (a model)', bin, ['compile', 'scores'], small.dir, 7));
    await measure(bin, ['run', 'users'], small.dir);
    out.push({
      ...(await repeat('no-op run, 10 rows', bin, ['run', 'users'], small.dir, 7)),
      target: { of: 'wallMs', max: 400, label: '<= 0.4 s' },
    });
    // The bundle's V8 code cache (bin/bundle-loader.js) turned off: a command's first run after a build.
    out.push(
      await repeat('no-op run, 10 rows, no code cache', bin, ['run', 'users'], small.dir, 5, undefined, {
        PQLSYNC_CODE_CACHE: 'off',
      }),
    );
  } finally {
    rmSync(small.dir, { recursive: true, force: true });
  }

  const tenK = await benchProject(10_000);
  try {
    say('10k rows, 1% changed');
    await measure(bin, ['run', 'users'], tenK.dir);
    let round = 0;
    out.push({
      ...(await repeat('run, 10k rows, 1% changed', bin, ['run', 'users'], tenK.dir, 5, async () => {
        round++;
        await tenK.exec(
          `update bench.scores set pql_score = (pql_score + ${round}) % 100 where user_id % 100 = 0`,
        );
      })),
      target: { of: 'wallMs', max: 500, label: '<= 0.5 s' },
    });
  } finally {
    rmSync(tenK.dir, { recursive: true, force: true });
  }

  if (options.oneMillion ?? true) {
    const big = await benchProject(1_000_000);
    try {
      say('1M rows: plan, then the first sync to the file destination');
      out.push({
        ...(await repeat('plan, 1M rows (first sync)', bin, ['plan', 'users'], big.dir, 1)),
        target: { of: 'peakRssBytes', max: 300e6, label: '<= 300 MB' },
      });
      out.push({
        ...(await repeat('first sync, 1M rows to a file', bin, ['run', 'users'], big.dir, 1)),
        target: { of: 'peakRssBytes', max: 300e6, label: '<= 300 MB' },
      });
    } finally {
      rmSync(big.dir, { recursive: true, force: true });
    }
  }
  return out;
}

/** The cases as a table, then each target met or not. */
export function formatCliBench(cases: readonly CliCase[]): string {
  const header = [
    'CLI process (DuckDB, file destination)',
    'runs',
    'wall ms (median)',
    'CPU ms',
    'peak RSS MB',
  ];
  const rows = cases.map((c) => [
    c.name,
    String(c.runs),
    c.wallMs.toFixed(0),
    c.cpuMs.toFixed(0),
    (c.peakRssBytes / 1e6).toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const lines = [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)];
  lines.push('', 'targets (CLI process):');
  for (const c of cases) {
    if (!c.target) continue;
    const value = c[c.target.of];
    const shown = c.target.of === 'wallMs' ? `${value.toFixed(0)} ms` : `${(value / 1e6).toFixed(0)} MB`;
    const what = c.target.of === 'wallMs' ? 'wall time' : 'whole-process peak RSS';
    // The process's CPU time beside a wall-time target: on a busy machine the wall time is mostly waiting for a core.
    const cpu = c.target.of === 'wallMs' ? ` (CPU ${c.cpuMs.toFixed(0)} ms)` : '';
    lines.push(
      `  ${c.name}: ${what} ${c.target.label}: ${shown}${cpu}, ${value <= c.target.max ? 'met' : 'NOT met'}`,
    );
  }
  const [load] = loadavg();
  lines.push(`  (load average ${load!.toFixed(1)} on ${availableParallelism()} cores as the bench ended)`);
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cases = await runCliBench({ oneMillion: !process.argv.includes('--no-1m') });
  console.log(formatCliBench(cases));
}
