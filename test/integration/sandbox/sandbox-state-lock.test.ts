/**
 * One sandbox per state file (issue 21, item 2): a second sandbox on the same `--state` file is refused, naming
 * the file and the holder's pid and URL; the lock goes with close; a lock whose process is gone is taken over.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/sandbox-server.js';

const STARTED = new Date('2026-03-02T09:00:00.000Z');
const now = () => STARTED;

let dir: string;
let statePath: string;
const running: RunningSandbox[] = [];

async function start(): Promise<RunningSandbox> {
  const s = await startSandbox({ token: 'lock-token', statePath, now });
  running.push(s);
  return s;
}

async function refusal(): Promise<PqlsyncError> {
  const err: unknown = await startSandbox({ token: 'lock-token', statePath, now }).then(
    async (s) => {
      await s.close();
      throw new Error('the second sandbox started');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PqlsyncError);
  return err as PqlsyncError;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  return child.pid ?? 999_999;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pqlsync-state-lock-'));
  statePath = join(dir, 'sandbox-state.json');
});
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sandbox state file lock', () => {
  it('refuses a second sandbox on the same state file, naming the file and the holder', async () => {
    const first = await start();
    const err = await refusal();
    expect([err.code, err.format()]).toEqual([
      'STATE_LOCK_HELD',
      `${statePath}: sandbox state file is in use by the sandbox at ${first.url} (pid ${process.pid}, since 2026-03-02T09:00:00.000Z); two sandboxes on one state file would overwrite each other's records\n` +
        `  hint: use that sandbox (it serves these records: PQLSYNC_SANDBOX_URL=${first.url}), stop it first, or pass --state another file`,
    ]);
    // The refused one left the holder's lock alone.
    expect(JSON.parse(readFileSync(`${statePath}.lock`, 'utf8'))).toMatchObject({
      pid: process.pid,
      url: first.url,
    });
  });

  it('releases the lock on close, so the next sandbox on the file starts', async () => {
    const first = await start();
    await first.close();
    expect(existsSync(`${statePath}.lock`)).toBe(false);
    const second = await start();
    expect(JSON.parse(readFileSync(`${statePath}.lock`, 'utf8'))).toMatchObject({ url: second.url });
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const pid = deadPid();
    writeFileSync(
      `${statePath}.lock`,
      JSON.stringify({ pid, host: hostname(), url: 'http://127.0.0.1:4010', startedAt: 'x', nonce: 'old' }),
    );
    const s = await start();
    expect(JSON.parse(readFileSync(`${statePath}.lock`, 'utf8'))).toMatchObject({
      pid: process.pid,
      url: s.url,
    });
  });

  it('refuses a lock held from another host (whose process it cannot check)', async () => {
    writeFileSync(
      `${statePath}.lock`,
      JSON.stringify({
        pid: 4242,
        host: 'build-box',
        url: 'http://127.0.0.1:4010',
        startedAt: '2026-03-01T08:00:00.000Z',
        nonce: 'n',
      }),
    );
    expect((await refusal()).message).toBe(
      "sandbox state file is in use by the sandbox at http://127.0.0.1:4010 (pid 4242 on build-box, since 2026-03-01T08:00:00.000Z); two sandboxes on one state file would overwrite each other's records",
    );
  });

  it('says so when the lock cannot be created (a directory that does not exist)', async () => {
    statePath = join(dir, 'missing', 'sandbox-state.json');
    const lock = `${statePath}.lock`;
    expect((await refusal()).format()).toBe(
      `${statePath}: cannot create the state file's lock ${lock}: ENOENT: no such file or directory, open '${lock}'\n` +
        '  hint: point --state at a file in a directory that exists and that you can write',
    );
  });

  it('releases the lock when the state file cannot be read', async () => {
    writeFileSync(statePath, '{"hello": 1}');
    expect((await refusal()).code).toBe('STATE_INVALID');
    expect(existsSync(`${statePath}.lock`)).toBe(false);
  });
});
