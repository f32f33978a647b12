/**
 * Runs the real CLI in a child process: the sources compiled once per vitest run by the global setup
 * (test/helpers/global-setup.ts, esbuild, as tsx would), or through tsx when no global setup compiled them. No
 * `npm run build` is needed either way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

export const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** tsx's loader, resolved from the repo so the child can run in any working directory. */
const TSX = import.meta.resolve('tsx');
/** `node` arguments that start the CLI: the run's compiled copy, or the sources through tsx. */
const COMPILED = inject('pqlsyncCli');
export const CLI_NODE_ARGS: readonly string[] = COMPILED ? [COMPILED] : ['--import', TSX, MAIN];

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A `pqlsync` shell script for PATH (as after `npm install -g pqlsync`) that starts the CLI as `startCli` does. */
export function cliShim(): string {
  return `#!/bin/sh\nexec ${[process.execPath, ...CLI_NODE_ARGS].map((a) => `"${a}"`).join(' ')} "$@"\n`;
}

/** Starts `pqlsync <args>` and returns the child (for tests that kill it). */
export function startCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  return spawn(process.execPath, [...CLI_NODE_ARGS, ...args], {
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
