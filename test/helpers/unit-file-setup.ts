/**
 * Run before each test file of the projects whose files share their worker's loaded modules (vitest.config.ts,
 * projects `unit` and `shared`), so the process-wide state one file sets would reach the next:
 *
 * - each file starts from the state a fresh process has: the registered secrets (a secret `token` registered by
 *   one file redacted the word in another's messages), the shared logger (created on first use, as `logger()`
 *   does) and where human log lines go;
 * - each file must leave the process as it found it: environment variables, the working directory, fake timers,
 *   and process listeners (signals, `exit`, unhandled rejections). A file that changed one fails here, naming
 *   what it changed, and the change is undone so the next file does not inherit it.
 */
import { afterAll, vi } from 'vitest';
import { clearSecretsForTests } from '../../src/errors/secrets.js';
import { createLogger, setHumanLogSink, setLogger } from '../../src/util/logger.js';

clearSecretsForTests();
setLogger(createLogger());
setHumanLogSink(undefined);
// The files reach their sandboxes on 127.0.0.1, and jsforce reads the proxy variables once, when a worker first
// loads it (the Salesforce and CRM test helpers removed them at load, which in a shared worker is once).
for (const name of ['https_proxy', 'http_proxy', 'HTTPS_PROXY', 'HTTP_PROXY']) delete process.env[name];

const EVENTS = [
  'exit',
  'beforeExit',
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'uncaughtException',
  'unhandledRejection',
  'warning',
] as const;

const env = { ...process.env };
const cwd = process.cwd();
/** A process event's listeners (@types/node types `process.listeners` by one overload per event name). */
const listenersOf = (event: string): Array<(...args: unknown[]) => void> =>
  process.listeners(event as NodeJS.Signals) as Array<(...args: unknown[]) => void>;
const listeners = new Map(EVENTS.map((e) => [e, listenersOf(e)]));

afterAll(() => {
  const leaks: string[] = [];
  const changed = [...new Set([...Object.keys(env), ...Object.keys(process.env)])].filter(
    (k) => process.env[k] !== env[k],
  );
  for (const k of changed) {
    leaks.push(`environment variable ${k} ${k in env ? 'changed or removed' : 'added'}`);
    if (env[k] === undefined) delete process.env[k];
    else process.env[k] = env[k];
  }
  if (process.cwd() !== cwd) {
    leaks.push(`working directory changed to ${process.cwd()}`);
    process.chdir(cwd);
  }
  if (vi.isFakeTimers()) {
    leaks.push('fake timers still installed');
    vi.useRealTimers();
  }
  for (const [event, before] of listeners) {
    const added = listenersOf(event).filter((l) => !before.includes(l));
    if (added.length > 0) leaks.push(`${added.length} process '${event}' listener(s) added`);
    for (const l of added) process.removeListener(event, l);
  }
  if (leaks.length > 0) {
    throw new Error(
      `this file changed process-wide state the next file in its worker would inherit: ${leaks.join('; ')}`,
    );
  }
});
