/**
 * Stopping a CLI child at an exact point of its sync: the sandbox's `hold` fault keeps a chosen request open,
 * and `heldOrExited` resolves as soon as the sandbox holds a request (or the child exited first), with no
 * polling of the clock. The test then kills or signals the child and releases the hold.
 */
import type { ChildProcess } from 'node:child_process';
import type { RunningSandbox } from '../../src/sandbox/sandbox-server.js';
import type { FaultSpec } from '../../src/sandbox/sandbox-types.js';

async function call(sandbox: RunningSandbox, method: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    ...init,
    headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sandbox admin ${method} ${path} answered ${res.status}: ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** Adds one fault (typically a `hold`). */
export async function addFault(sandbox: RunningSandbox, fault: FaultSpec): Promise<void> {
  await call(sandbox, 'POST', '/_sandbox/faults', { body: JSON.stringify(fault) });
}

/** Removes every fault. */
export async function clearFaults(sandbox: RunningSandbox): Promise<void> {
  await call(sandbox, 'DELETE', '/_sandbox/faults');
}

/** Lets every held request go on; resolves once they were answered. Returns their ids. */
export async function releaseHeld(sandbox: RunningSandbox): Promise<number[]> {
  return ((await call(sandbox, 'POST', '/_sandbox/holds/release', { body: '{}' })) as { released: number[] })
    .released;
}

/** Resolves 'held' once the sandbox holds a request, or 'exited' if the child exits first. */
export async function heldOrExited(sandbox: RunningSandbox, child: ChildProcess): Promise<'held' | 'exited'> {
  const stop = new AbortController();
  const exited = new Promise<'exited'>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve('exited');
    else child.once('exit', () => resolve('exited'));
  });
  const held = (async (): Promise<'held'> => {
    for (;;) {
      const body = (await call(sandbox, 'GET', '/_sandbox/holds?waitMs=600000', { signal: stop.signal })) as {
        held: unknown[];
      };
      if (body.held.length > 0) return 'held';
    }
  })();
  held.catch(() => {}); // aborted below when the child exits first
  try {
    return await Promise.race([held, exited]);
  } finally {
    stop.abort();
  }
}

/**
 * After a stop signal was sent to a child whose requests are being held: releases held requests until the
 * child exits (the child may send a few more, which the still-active hold fault catches, before it handles
 * the signal). Every step waits on an event (a held request or the exit), never on the clock.
 */
export async function releaseUntilExit(sandbox: RunningSandbox, child: ChildProcess): Promise<void> {
  for (;;) {
    await releaseHeld(sandbox);
    if ((await heldOrExited(sandbox, child)) === 'exited') return;
  }
}
