/**
 * Fault registry for the sandbox: route faults (latency, status + body, connection reset, hang) that the core
 * applies before a vendor API sees a request, record faults (`rejectRecord`) that vendor APIs ask for per record,
 * and response faults (`omitResults`) that vendor APIs ask for per batch write.
 *
 * Glossary:
 * - matches: a fault's `route` is `*`, a path substring, or `METHOD path-substring`.
 * - times: how many matching requests a fault applies to before it is used up (unlimited when absent).
 * - probability: applied to a matching request only when the sandbox's seeded random number is below it.
 * - skip: how many matching requests pass untouched before the fault applies (so `skip: 2, times: 1` is the 3rd).
 */
import { HOLD_STAGES, type HoldStage } from './request-holds.js';
import type { FaultInjector, FaultSpec, RecordFault, SandboxRequest } from './sandbox-types.js';

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

interface ActiveFault {
  id: number;
  spec: FaultSpec;
  remaining: number;
  skipped: number;
}

/** What the core should do with a request because of a route fault. */
export interface RouteFaultAction {
  latencyMs: number;
  resetConnection: boolean;
  /** Leave the request unanswered. */
  hang: boolean;
  status?: number;
  body?: unknown;
  /** Keep the request open at this stage until released (`request-holds.ts`). */
  hold?: HoldStage;
}

/** True when `route` (a FaultSpec route) matches this method and path. */
export function routeMatches(route: string, method: string, path: string): boolean {
  const trimmed = route.trim();
  if (trimmed === '*' || trimmed === '') return true;
  const space = trimmed.indexOf(' ');
  if (space > 0) {
    const head = trimmed.slice(0, space).toUpperCase();
    if ((HTTP_METHODS as readonly string[]).includes(head)) {
      const rest = trimmed.slice(space + 1).trim();
      return head === method.toUpperCase() && (rest === '*' || path.includes(rest));
    }
  }
  return path.includes(trimmed);
}

/** Checks a fault body from `POST /_sandbox/faults`; returns the problems found (empty when valid). */
export function validateFaultSpec(value: unknown, where: string): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${where}: expected an object`];
  const spec = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof spec.route !== 'string')
    problems.push(`${where}.route: expected a string such as "PATCH /composite/sobjects"`);
  const checkNumber = (key: string, min: number, max: number): void => {
    const v = spec[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)) {
      problems.push(`${where}.${key}: expected a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
  };
  checkNumber('status', 100, 599);
  checkNumber('latencyMs', 0, 600_000);
  checkNumber('times', 1, Number.MAX_SAFE_INTEGER);
  checkNumber('probability', 0, 1);
  checkNumber('skip', 0, Number.MAX_SAFE_INTEGER);
  if (spec.hold !== undefined && !(HOLD_STAGES as readonly unknown[]).includes(spec.hold)) {
    problems.push(`${where}.hold: expected "before" or "after", got ${JSON.stringify(spec.hold)}`);
  }
  if (spec.resetConnection !== undefined && typeof spec.resetConnection !== 'boolean') {
    problems.push(`${where}.resetConnection: expected true or false`);
  }
  if (spec.hang !== undefined && typeof spec.hang !== 'boolean') {
    problems.push(`${where}.hang: expected true or false`);
  }
  if (spec.rejectRecord !== undefined) {
    const r = spec.rejectRecord as Record<string, unknown> | null;
    if (!r || typeof r !== 'object' || typeof r.nth !== 'number' || r.nth < 1 || typeof r.code !== 'string') {
      problems.push(
        `${where}.rejectRecord: expected {"nth": <1-based record number>, "code": "<STATUS_CODE>"}`,
      );
    }
  }
  const omit = spec.omitResults;
  if (
    omit !== undefined &&
    (!Array.isArray(omit) || omit.length === 0 || !omit.every((n) => Number.isInteger(n) && n >= 1))
  ) {
    problems.push(`${where}.omitResults: expected a non-empty list of 1-based record numbers, e.g. [2, 5]`);
  }
  return problems;
}

/** Holds the registered faults; implements the vendor-facing FaultInjector. */
export class FaultRegistry implements FaultInjector {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  constructor(private readonly random: () => number) {}

  add(spec: FaultSpec): number {
    const id = this.nextId++;
    this.faults.push({ id, spec, remaining: spec.times ?? Number.POSITIVE_INFINITY, skipped: 0 });
    return id;
  }

  clear(): void {
    this.faults = [];
  }

  /** The registered faults with how many uses are left, for `GET /_sandbox/faults`. */
  list(): Array<FaultSpec & { id: number; remaining: number | null }> {
    return this.faults.map((f) => ({
      ...f.spec,
      id: f.id,
      remaining: Number.isFinite(f.remaining) ? f.remaining : null,
    }));
  }

  /** The first unused route fault (one without `rejectRecord` or `omitResults`) matching the request, consumed once. */
  takeRouteFault(method: string, path: string): RouteFaultAction | undefined {
    const fault = this.faults.find(
      (f) =>
        !f.spec.rejectRecord &&
        !f.spec.omitResults &&
        f.remaining > 0 &&
        routeMatches(f.spec.route, method, path) &&
        !this.skips(f),
    );
    if (!fault || !this.passesProbability(fault.spec)) return undefined;
    this.consume(fault);
    return {
      latencyMs: fault.spec.latencyMs ?? 0,
      resetConnection: fault.spec.resetConnection === true,
      hang: fault.spec.hang === true,
      ...(fault.spec.status !== undefined ? { status: fault.spec.status } : {}),
      ...(fault.spec.body !== undefined ? { body: fault.spec.body } : {}),
      ...(fault.spec.hold !== undefined ? { hold: fault.spec.hold } : {}),
    };
  }

  /** True (and counted) while a matching request is one of the first `skip` that the fault lets pass. */
  private skips(fault: ActiveFault): boolean {
    if (fault.skipped >= (fault.spec.skip ?? 0)) return false;
    fault.skipped += 1;
    return true;
  }

  takeRecordFault(req: SandboxRequest, recordIndex: number): RecordFault | undefined {
    const fault = this.faults.find(
      (f) =>
        f.spec.rejectRecord !== undefined &&
        f.spec.rejectRecord.nth === recordIndex &&
        f.remaining > 0 &&
        routeMatches(f.spec.route, req.method, req.path),
    );
    if (!fault || !fault.spec.rejectRecord || !this.passesProbability(fault.spec)) return undefined;
    this.consume(fault);
    const { code, message } = fault.spec.rejectRecord;
    return message === undefined ? { code } : { code, message };
  }

  takeOmittedResults(req: SandboxRequest): ReadonlySet<number> {
    const fault = this.faults.find(
      (f) =>
        f.spec.omitResults !== undefined &&
        f.remaining > 0 &&
        routeMatches(f.spec.route, req.method, req.path),
    );
    if (!fault || !this.passesProbability(fault.spec)) return new Set();
    this.consume(fault);
    return new Set(fault.spec.omitResults);
  }

  private passesProbability(spec: FaultSpec): boolean {
    const p = spec.probability ?? 1;
    return p >= 1 || this.random() < p;
  }

  private consume(fault: ActiveFault): void {
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
  }
}
