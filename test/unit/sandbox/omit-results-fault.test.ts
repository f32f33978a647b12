/**
 * The sandbox's `omitResults` fault: checked when registered, never taken for a route fault (it must not turn
 * into an empty 200 before the vendor API writes), and used up per request like the others.
 */
import { describe, expect, it } from 'vitest';
import { FaultRegistry, validateFaultSpec } from '../../../src/sandbox/fault-injector.js';
import type { SandboxRequest } from '../../../src/sandbox/sandbox-types.js';

const request = (method: string, path: string): SandboxRequest => ({
  method,
  path,
  query: new URLSearchParams(),
  headers: {},
  rawBody: Buffer.alloc(0),
  body: undefined,
});

describe('omitResults fault', () => {
  it('is refused unless it lists 1-based record numbers', () => {
    const problem = 'fault.omitResults: expected a non-empty list of 1-based record numbers, e.g. [2, 5]';
    for (const omitResults of [[], [0], [1.5], 2, ['2']]) {
      expect(validateFaultSpec({ route: '*', omitResults }, 'fault'), JSON.stringify(omitResults)).toEqual([
        problem,
      ]);
    }
    expect(validateFaultSpec({ route: '*', omitResults: [2, 5] }, 'fault')).toEqual([]);
  });

  it('leaves the listed results out of matching requests only, `times` times', () => {
    const faults = new FaultRegistry(() => 0);
    faults.add({ route: 'POST /batch/upsert', omitResults: [2, 5], times: 2 });
    const upsert = request('POST', '/crm/v3/objects/contacts/batch/upsert');
    expect(faults.takeRouteFault('POST', upsert.path)).toBeUndefined();
    expect(faults.takeOmittedResults(request('POST', '/crm/v3/objects/contacts/batch/create'))).toEqual(
      new Set(),
    );
    expect(faults.takeOmittedResults(upsert)).toEqual(new Set([2, 5]));
    expect(faults.list()).toEqual([
      { route: 'POST /batch/upsert', omitResults: [2, 5], times: 2, id: 1, remaining: 1 },
    ]);
    expect(faults.takeOmittedResults(upsert)).toEqual(new Set([2, 5]));
    expect(faults.takeOmittedResults(upsert)).toEqual(new Set());
    expect(faults.list()).toEqual([]);
  });
});
