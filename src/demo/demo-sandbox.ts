/**
 * The CRM sandbox behind `pqlsync demo --crm salesforce|hubspot`: the running sandbox at `--sandbox URL`
 * (token from `PQLSYNC_SANDBOX_TOKEN`); else the sandbox `<demo dir>/.env` names, when it answers with that
 * token (`npx pqlsync sandbox --state sandbox-state.json` left running: a second sandbox would overwrite its
 * records, and its lock on the state file refuses one); else one started in process whose state lives in
 * `<demo dir>/sandbox-state.json`, so a rerun sees the same CRM records.
 *
 * The demo config points at the sandbox through `${PQLSYNC_SANDBOX_URL}` and `${PQLSYNC_SANDBOX_TOKEN}`;
 * `demoSandboxEnv` gives those to the config loader, and `<demo dir>/.env` keeps them for a later
 * `npx pqlsync run --all` in the demo directory (the CLI loads `.env` from the working directory).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { registerSecret } from '../errors/secrets.js';
import { startSandbox } from '../sandbox/sandbox-server.js';

/** `pqlsync sandbox`'s default port. */
export const DEMO_SANDBOX_PORT = 4010;

export interface DemoSandbox {
  url: string;
  token: string;
  /** True when this process started the sandbox (and `close` stops it). */
  inProcess: boolean;
  /** True when it is the running sandbox that `<dir>/.env` names (and `.env` was left as it was). */
  fromEnvFile?: boolean;
  /** The state file of an in-process sandbox. */
  statePath?: string;
  /** Env entries for the config loader: PQLSYNC_SANDBOX_URL and PQLSYNC_SANDBOX_TOKEN. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface DemoSandboxOptions {
  /** The demo project directory. */
  dir: string;
  /** A running sandbox's URL (`--sandbox`). (Default: start one in process) */
  url?: string;
  /** Where PQLSYNC_SANDBOX_TOKEN is read from. (Default: process.env) */
  env?: NodeJS.ProcessEnv;
}

/** Connects to (or starts) the demo's sandbox and writes `<dir>/.env` pointing at it. */
export async function openDemoSandbox(options: DemoSandboxOptions): Promise<DemoSandbox> {
  const env = options.env ?? process.env;
  const envFile = path.join(options.dir, '.env');
  if (options.url) {
    const token = env.PQLSYNC_SANDBOX_TOKEN;
    if (!token) {
      throw new PqlsyncError(
        'ARGS_INVALID',
        `--sandbox ${options.url} needs the sandbox's token in PQLSYNC_SANDBOX_TOKEN`,
        {
          hint: 'copy the `export PQLSYNC_SANDBOX_TOKEN=...` line that `pqlsync sandbox` printed',
        },
      );
    }
    registerSecret(token);
    const url = options.url.replace(/\/+$/, '');
    writeEnvFile(envFile, url, token);
    return { url, token, inProcess: false, env: sandboxEnv(url, token), close: () => Promise.resolve() };
  }
  const saved = readEnvFile(envFile);
  if (saved.PQLSYNC_SANDBOX_URL && saved.PQLSYNC_SANDBOX_TOKEN) {
    const url = saved.PQLSYNC_SANDBOX_URL.replace(/\/+$/, '');
    registerSecret(saved.PQLSYNC_SANDBOX_TOKEN);
    if (await sandboxAnswers(url, saved.PQLSYNC_SANDBOX_TOKEN)) {
      const token = saved.PQLSYNC_SANDBOX_TOKEN;
      return {
        url,
        token,
        inProcess: false,
        fromEnvFile: true,
        env: sandboxEnv(url, token),
        close: () => Promise.resolve(),
      };
    }
  }
  // Keep the token across demo runs, so the .env written last time stays valid with a sandbox started from it.
  const token = saved.PQLSYNC_SANDBOX_TOKEN ?? randomBytes(18).toString('base64url');
  const statePath = path.join(options.dir, 'sandbox-state.json');
  // The sandbox command's default port, so `npx pqlsync sandbox --state sandbox-state.json` in the demo dir
  // later serves the URL written to .env; any free port when 4010 is taken.
  const running = await startSandbox({ token, statePath, port: DEMO_SANDBOX_PORT }).catch(() =>
    startSandbox({ token, statePath, port: 0 }),
  );
  writeEnvFile(envFile, running.url, token);
  return {
    url: running.url,
    token,
    inProcess: true,
    statePath,
    env: sandboxEnv(running.url, token),
    close: () => running.close(),
  };
}

/** How long the demo waits for the sandbox named in `.env` to answer before starting its own. */
const PROBE_TIMEOUT_MS = 5000;

/** True when a pqlsync sandbox answers at `url` and accepts `token` (its admin route `GET /_sandbox/faults`). */
async function sandboxAnswers(url: string, token: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_sandbox/faults`, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

function sandboxEnv(url: string, token: string): Record<string, string> {
  return { PQLSYNC_SANDBOX_URL: url, PQLSYNC_SANDBOX_TOKEN: token };
}

function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2].trim();
  }
  return out;
}

function writeEnvFile(file: string, url: string, token: string): void {
  const port = new URL(url).port;
  const portFlag = port === String(DEMO_SANDBOX_PORT) ? '' : ` --port ${port}`;
  writeFileSync(
    file,
    [
      '# Written by `pqlsync demo`: where the demo config finds the CRM sandbox.',
      `# Start that sandbox again, here: npx pqlsync sandbox${portFlag} --state sandbox-state.json`,
      `PQLSYNC_SANDBOX_URL=${url}`,
      `PQLSYNC_SANDBOX_TOKEN=${token}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}
