/**
 * Two sandboxes on one demo (issue 21, item 2): with `pqlsync sandbox --state sandbox-state.json` running, a
 * second `pqlsync sandbox` on that file is refused (exit 4, naming the file and the holder), and
 * `pqlsync demo --advance-days 1` writes to the running sandbox that `.env` names instead of starting its own
 * and rewriting `.env`, so the records stay in one sandbox and its state file.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, runCli, startCli } from '../helpers/cli.js';

let dir: string;
let sandbox: ChildProcess | undefined;

/** The first line the child writes on stdout, parsed. */
function firstJsonLine(child: ChildProcess): Promise<{ url: string; token: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as { url: string; token: string });
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited ${code}: ${err}`)));
  });
}

async function adminGet(url: string, token: string, route: string): Promise<unknown> {
  const res = await fetch(`${url}${route}`, { headers: { Authorization: `Bearer ${token}` } });
  return res.json();
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-demo-reuse-'));
});
afterAll(() => {
  if (sandbox && sandbox.exitCode === null) sandbox.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('demo and a running sandbox', { timeout: 300_000 }, () => {
  it('a second sandbox on the state file is refused; the demo reuses the sandbox named in .env', async () => {
    const first = await runCli(['demo', '--dir', dir, '--users', '300'], { cwd: dir });
    expect(first.code).toBe(0);
    const envFile = path.join(dir, '.env');
    const token = /PQLSYNC_SANDBOX_TOKEN=(.*)/.exec(readFileSync(envFile, 'utf8'))?.[1];
    expect(token).toBeTruthy();

    // The user keeps the demo's CRM running (on a free port here, so parallel tests cannot collide on 4010).
    const statePath = path.join(dir, 'sandbox-state.json');
    sandbox = startCli(['sandbox', '--port', '0', '--state', 'sandbox-state.json', '--json'], {
      cwd: dir,
      env: { PQLSYNC_SANDBOX_TOKEN: token },
    });
    const running = await firstJsonLine(sandbox);
    const leadsBefore = (
      (await adminGet(running.url, token!, '/_sandbox/salesforce/Lead')) as { records: unknown[] }
    ).records.length;
    expect(leadsBefore).toBeGreaterThan(0);
    // .env names the running sandbox (as `npx pqlsync sandbox --state sandbox-state.json` would, on its port).
    const envText = readFileSync(envFile, 'utf8').replace(
      /PQLSYNC_SANDBOX_URL=.*/,
      `PQLSYNC_SANDBOX_URL=${running.url}`,
    );
    writeFileSync(envFile, envText);

    const second = await runCli(['sandbox', '--port', '0', '--state', 'sandbox-state.json'], {
      cwd: dir,
      env: { PQLSYNC_SANDBOX_TOKEN: token },
    });
    expect(second.code).toBe(4);
    expect(second.stderr).toMatch(
      new RegExp(
        `^pqlsync: sandbox-state\\.json: sandbox state file is in use by the sandbox at ${running.url.replace(/\./g, '\\.')} \\(pid ${sandbox.pid}, since \\S+\\); two sandboxes on one state file would overwrite each other's records\n` +
          `  hint: use that sandbox \\(it serves these records: PQLSYNC_SANDBOX_URL=${running.url.replace(/\./g, '\\.')}\\), stop it first, or pass --state another file\n$`,
      ),
    );

    const advanced = await runCli(['demo', '--dir', dir, '--users', '300', '--advance-days', '1'], {
      cwd: dir,
    });
    expect(advanced.code).toBe(0);
    expect(advanced.stderr).toContain(`using the CRM sandbox at ${running.url} (running, named in .env)\n`);
    expect(advanced.stderr).toContain(
      `  see the CRM:    ${running.url}/   (the running sandbox named in .env)\n`,
    );
    expect(readFileSync(envFile, 'utf8')).toBe(envText);
    // The demo's writes went to the running sandbox.
    const requests = (await adminGet(running.url, token!, '/_sandbox/requests')) as {
      method: string;
      status: number;
    }[];
    expect(requests.filter((r) => r.method !== 'GET' && r.status < 300).length).toBeGreaterThan(0);

    sandbox.kill('SIGTERM');
    expect((await collect(sandbox)).code).toBe(0);
    expect(existsSync(`${statePath}.lock`)).toBe(false);
  });
});
