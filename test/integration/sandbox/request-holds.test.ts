/**
 * The `hold` fault: the sandbox keeps the Nth matching request open (before the vendor sees it, or after it
 * applied it with the answer held back) until `POST /_sandbox/holds/release`; `GET /_sandbox/holds?waitMs=N`
 * answers as soon as a request is held. Crash and SIGTERM tests stop a client at that point.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { admin, adminRecords, connect, start } from './salesforce-helpers.js';

const running: RunningSandbox[] = [];
async function open(): Promise<RunningSandbox> {
  const sandbox = await start({ now: () => new Date('2026-03-02T09:00:00Z') });
  running.push(sandbox);
  return sandbox;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

const lead = (i: number) => ({ Product_User_Id__c: `u_${i}`, LastName: `P${i}`, Company: 'Acme' });

/** Upserts one lead; the returned promise settles when the sandbox answers. */
function upsert(sandbox: RunningSandbox, i: number): { answered: () => boolean; done: Promise<unknown> } {
  let answered = false;
  const done = connect(sandbox)
    .sobject('Lead')
    .upsert([lead(i)], 'Product_User_Id__c')
    .finally(() => (answered = true));
  return { answered: () => answered, done };
}

async function heldNow(sandbox: RunningSandbox, waitMs: number): Promise<unknown[]> {
  return ((await admin(sandbox, 'GET', `/_sandbox/holds?waitMs=${waitMs}`)).body as { held: unknown[] }).held;
}

describe('hold fault', () => {
  it('holds the Nth matching request after the vendor applied it, until released', async () => {
    const sandbox = await open();
    const added = await admin(sandbox, 'POST', '/_sandbox/faults', {
      route: 'PATCH /composite/sobjects/Lead',
      hold: 'after',
      skip: 1,
      times: 1,
    });
    expect(added.status).toBe(201);
    await upsert(sandbox, 1).done; // the first matching request passes (skip: 1)
    const second = upsert(sandbox, 2);
    const held = await heldNow(sandbox, 60_000);
    expect(held).toEqual([
      {
        id: 1,
        method: 'PATCH',
        path: '/services/data/v62.0/composite/sobjects/Lead/Product_User_Id__c',
        stage: 'after',
        heldAt: '2026-03-02T09:00:00.000Z',
      },
    ]);
    // Applied and logged, but the client has no answer yet.
    expect((await adminRecords(sandbox, 'Lead')).map((r) => r.Product_User_Id__c).sort()).toEqual([
      'u_1',
      'u_2',
    ]);
    expect(second.answered()).toBe(false);
    expect((await admin(sandbox, 'POST', '/_sandbox/holds/release', {})).body).toEqual({ released: [1] });
    expect(await second.done).toMatchObject([{ success: true, created: true }]);
    expect(await heldNow(sandbox, 0)).toEqual([]);
    // Used up: the third request passes.
    expect(await upsert(sandbox, 3).done).toMatchObject([{ success: true }]);
  });

  it('holds a request before the vendor sees it; released, the vendor applies it', async () => {
    const sandbox = await open();
    await admin(sandbox, 'POST', '/_sandbox/faults', { route: 'PATCH /composite/sobjects', hold: 'before' });
    const first = upsert(sandbox, 1);
    expect(await heldNow(sandbox, 60_000)).toMatchObject([{ id: 1, stage: 'before' }]);
    expect(await adminRecords(sandbox, 'Lead')).toEqual([]);
    expect((await admin(sandbox, 'POST', '/_sandbox/holds/release', { id: 1 })).body).toEqual({
      released: [1],
    });
    expect(await first.done).toMatchObject([{ success: true, created: true }]);
    expect((await adminRecords(sandbox, 'Lead')).map((r) => r.Product_User_Id__c)).toEqual(['u_1']);
  });

  it('waits no longer than waitMs when nothing is held, and refuses an unknown stage', async () => {
    const sandbox = await open();
    expect(await heldNow(sandbox, 1)).toEqual([]);
    const bad = await admin(sandbox, 'POST', '/_sandbox/faults', { route: '*', hold: 'sideways', skip: -1 });
    expect(bad).toEqual({
      status: 400,
      body: {
        error: 'invalid fault',
        problems: [
          'fault.skip: expected a number from 0 to 9007199254740991, got -1',
          'fault.hold: expected "before" or "after", got "sideways"',
        ],
      },
    });
  });

  it('releases held requests when the sandbox closes', async () => {
    const sandbox = await start();
    await admin(sandbox, 'POST', '/_sandbox/faults', { route: 'PATCH /composite/sobjects', hold: 'before' });
    const first = upsert(sandbox, 1);
    expect(await heldNow(sandbox, 60_000)).toHaveLength(1);
    await sandbox.close();
    await expect(first.done).resolves.toMatchObject([{ success: true }]);
  });
});
