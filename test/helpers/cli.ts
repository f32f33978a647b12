/**
 * Runs the real CLI in a child process (from source through tsx, so no build is needed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** tsx's loader, resolved from the repo so the child can run in any working directory. */
const TSX = import.meta.resolve('tsx');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `pqlsync <args>` and returns the child (for tests that kill it). */
export function startCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  return spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: options.cwd ?? REPO_DIR,
    // NODE_NO_WARNINGS: a runtime or dependency warning (e.g. the AWS SDK's Node version notice) is not
    // pqlsync's output, and tests assert on pqlsync's output.
    env: { ...process.env, PQLSYNC_LOG_LEVEL: 'warn', NODE_NO_WARNINGS: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs `pqlsync <args>` to completion. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const child = startCli(args, options);
  return collect(child);
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * The lines of a CLI's stderr that pqlsync wrote: its JSON log lines and its `pqlsync: ...` error lines (with
 * the indented hint lines that follow them). Anything else (a runtime's own notices) is left out.
 */
export function pqlsyncStderr(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{"level"') || l.startsWith('pqlsync') || l.startsWith('  hint:'));
}

/** A seeded PRNG for reproducible trials: the sandbox's own (mulberry32). */
export { createSeededRandom as seeded } from '../../src/sandbox/seeded-random.js';
