/**
 * The README's "Your own project in 10 minutes", run as printed: each `sh` block of docs/readme/own-project.md in a
 * shell, in a fresh directory, with `npx pqlsync` standing for the pqlsync under test (a `pqlsync` on PATH that runs
 * this checkout's source). The sandbox block runs in the background, as "in another terminal" says.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliShim } from '../helpers/cli.js';

const DOC = fileURLToPath(new URL('../../docs/readme/own-project.md', import.meta.url));

/** The doc's `sh` blocks, with `npx pqlsync` as the `pqlsync` under test. */
function blocks(): string[] {
  const text = readFileSync(DOC, 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replaceAll('npx pqlsync', 'pqlsync'));
}

interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function shell(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    // -e: a failing command fails the block, as it would stop a reader.
    const child = spawn('sh', ['-ec', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function admin(url: string, route: string): Promise<unknown> {
  const res = await fetch(`${url}${route}`, { headers: { authorization: 'Bearer dev-token' } });
  expect(res.status).toBe(200);
  return res.json();
}

// Its tests spawn a CLI per command (4 and 9 of them) in turn: 17 s and 30 s at load 20, and past vitest's 60 s
// default in a full e2e run at load 20-30 (issue 24's load flakes).
describe('README: your own project in 10 minutes', { timeout: 300_000 }, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let sandbox: ChildProcess | undefined;
  const sh = blocks();

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-own-'));
    const bin = path.join(dir, '.bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'pqlsync'), cliShim());
    chmodSync(path.join(bin, 'pqlsync'), 0o755);
    env = {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOME: dir,
      PQLSYNC_LOG_LEVEL: 'warn',
      NODE_NO_WARNINGS: '1',
    };
  });

  afterAll(() => {
    // The block's shell and the sandbox under it: the whole process group.
    if (sandbox?.pid) process.kill(-sandbox.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('has the blocks the test runs', () => {
    expect(sh).toHaveLength(4);
    expect(sh[1]).toBe('pqlsync sandbox --port 4010 --token dev-token\n');
  });

  it('init, plan and run on the file destination', async () => {
    const r = await shell(sh[0]!, dir, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // init prints commands that work as printed: here pqlsync is on PATH.
    expect(r.stdout).toContain(
      'next:\n  cd my-pql\n  pqlsync plan --all    # what a run would send; writes nothing\n',
    );
    for (const f of ['pql_users.jsonl', 'pqa_accounts.jsonl'])
      expect(existsSync(path.join(dir, 'my-pql', 'output', f))).toBe(true);
    const tables = r.stdout.split('\n').filter((l) => /^pql_users\s/.test(l));
    expect(tables).toHaveLength(3);
    expect(tables[0]).toMatch(/^pql_users\s+planned\s+138\s+0\s/);
    expect(tables[1]).toMatch(/^pql_users\s+success\s+138\s+0\s+0\s+0\s+138\s+0\s/);
    expect(tables[2]).toMatch(/^pql_users\s+success\s+0\s+0\s+0\s+0\s+0\s+0\s/);
  });

  it('HubSpot and Salesforce through the sandbox, as the README says', async () => {
    sandbox = spawn('sh', ['-ec', sh[1]!], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let banner = '';
    let errors = '';
    await new Promise<void>((resolve, reject) => {
      sandbox!.stdout!.on('data', (d: Buffer) => {
        banner += d.toString();
        if (banner.includes('listening on')) resolve();
      });
      sandbox!.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
      sandbox!.on('close', (code) => reject(new Error(`the sandbox exited ${code}: ${banner}${errors}`)));
    });
    const url = /listening on (\S+)/.exec(banner)![1]!;
    expect(url).toBe('http://127.0.0.1:4010');

    const hub = await shell(sh[2]!, dir, env);
    expect(hub.stderr).toBe('');
    expect(hub.code).toBe(0);
    expect(hub.stdout).toContain('no failures: every record was applied\n');
    const [contacts, companies] = /then (\d+) contacts and (\d+) companies/
      .exec(sh[2]!)!
      .slice(1)
      .map(Number);
    const hs = async (type: string) =>
      ((await admin(url, `/_sandbox/hubspot/${type}`)) as { results: unknown[] }).results.length;
    expect({ contacts: await hs('contacts'), companies: await hs('companies') }).toEqual({
      contacts,
      companies,
    });

    const sf = await shell(sh[3]!, dir, env);
    expect(sf.stderr).toBe('');
    expect(sf.code).toBe(0);
    const [leads, accounts] = /# (\d+) Leads and (\d+) Accounts/.exec(sh[3]!)!.slice(1).map(Number);
    const count = async (o: string) =>
      ((await admin(url, `/_sandbox/salesforce/${o}`)) as { records: unknown[] }).records.length;
    // The sandbox starts with a few Accounts of its own (DESIGN: "a few active users"; none are Leads).
    expect(await count('Lead')).toBe(leads);
    const synced = (
      (await admin(url, '/_sandbox/salesforce/Account')) as { records: Record<string, unknown>[] }
    ).records.filter((a) => a.Product_Account_Id__c);
    expect(synced).toHaveLength(accounts!);
    expect(sf.stdout).toMatch(/^pql_users\s+success\s/m);
  });
});
