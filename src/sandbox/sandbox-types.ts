/**
 * The contract between the sandbox's HTTP core (`sandbox-server.ts`) and each vendor API it serves
 * (`salesforce/salesforce-api.ts`, `hubspot/hubspot-api.ts`).
 *
 * Glossary:
 * - SandboxRequest: one parsed HTTP request handed to a vendor API (body already read, JSON parsed when the
 *   content type says JSON).
 * - SandboxResponse: what the vendor API answers; the core serialises it, adds the content type and records it.
 * - VendorApi: one vendor (Salesforce under `/services/`, HubSpot under `/crm/`). It owns its state, its auth
 *   check (each vendor has its own 401 body), its limits and its admin routes under `/_sandbox/<vendor>/`.
 * - FaultInjector: route-level faults (latency, status + body, connection reset) are applied by the core before
 *   the vendor sees the request; record-level faults (reject the n-th record with a code) are asked for by the
 *   vendor API through `takeRecordFault` while it processes records, and response faults (leave records'
 *   results out) through `takeOmittedResults`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HoldStage } from './request-holds.js';

export interface SandboxRequest {
  method: string;
  /** Path without the query string, e.g. `/services/data/v62.0/composite/sobjects/Lead/Product_User_Id__c`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** Parsed body when the request carried JSON (or form-urlencoded, parsed to an object of strings). */
  body: unknown;
}

/** A request before its body is read: what the core checks credentials and the body size on. */
export type SandboxRequestHead = Pick<SandboxRequest, 'method' | 'path' | 'query' | 'headers'>;

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  /** An object/array is sent as JSON; a string or Buffer is sent as is (set the content type in headers). */
  body?: unknown;
  /** How many records this request carried (batch inputs, collection records, CSV rows); recorded for admin. */
  records?: number;
}

/** A fault registered through `POST /_sandbox/faults` or at start. */
export interface FaultSpec {
  /** Which requests it applies to: a substring of the path, or `METHOD path-substring` (e.g. `PATCH /composite/sobjects`). `*` matches all. */
  route: string;
  status?: number;
  body?: unknown;
  latencyMs?: number;
  resetConnection?: boolean;
  /** Never answer: the request stays open (no status, no byte) until the client gives up or the sandbox closes. */
  hang?: boolean;
  /** Reject the nth record (1-based) of each matching request with this error code, instead of failing the whole request. */
  rejectRecord?: { nth: number; code: string; message?: string };
  /**
   * Write the records as usual but leave these records' results (1-based) out of the 200/201/207 response, as an
   * API that lost track of them would: the client cannot know whether they were written.
   */
  omitResults?: number[];
  /** How many matching requests it applies to before it is used up. (Default: unlimited) */
  times?: number;
  /** With a seed set on the sandbox, apply the fault to a matching request only with this probability. (Default: 1) */
  probability?: number;
  /** Let this many matching requests pass untouched before the fault applies. (Default: 0) */
  skip?: number;
  /**
   * Keep a matching request open until `POST /_sandbox/holds/release`: `before` the vendor API sees it, or `after`
   * the vendor applied it, with the answer held back. `GET /_sandbox/holds` lists what is held. (Default: none)
   */
  hold?: HoldStage;
}

export interface RecordFault {
  code: string;
  message?: string;
}

export interface FaultInjector {
  /**
   * Called by a vendor API for each record it processes (1-based index within the request). Returns the
   * error to report for that record if a `rejectRecord` fault matches, and counts it against `times`.
   */
  takeRecordFault(req: SandboxRequest, recordIndex: number): RecordFault | undefined;
  /**
   * Called by a vendor API once per batch write request. Returns the 1-based records whose results an
   * `omitResults` fault leaves out of this request's response (empty when none matches), and counts it.
   */
  takeOmittedResults(req: SandboxRequest): ReadonlySet<number>;
}

export interface SandboxContext {
  /** Injectable clock; tests move it. */
  now(): Date;
  /** Seeded random numbers in [0, 1) (for ids and probabilistic faults). */
  random(): number;
  faults: FaultInjector;
  /** The sandbox's configured bearer token (the one `pqlsync sandbox` prints). */
  token: string;
  /** Base URL of the running sandbox, e.g. `http://127.0.0.1:4010`. */
  baseUrl(): string;
}

export interface VendorApi {
  /** `salesforce` or `hubspot`; admin routes live under `/_sandbox/<name>/`. */
  readonly name: string;
  /** True when this API serves the path (`/services/...` or `/crm/...`). */
  handles(path: string): boolean;
  /**
   * The vendor's own answer (its 401) when it refuses the request's credentials, or undefined when the request may
   * go on (authenticated, or a route without a bearer token such as an OAuth token request). The core asks before
   * it reads the body, so a caller without credentials never makes the sandbox hold a body.
   */
  authorize(req: SandboxRequestHead): SandboxResponse | undefined;
  /** The largest request body this vendor accepts on the route, in bytes (its documented limit). */
  maxBodyBytes(req: SandboxRequestHead): number;
  /** Serves one request. */
  handle(req: SandboxRequest): Promise<SandboxResponse> | SandboxResponse;
  /** Serves `/_sandbox/<name>/...` admin routes (already authenticated by the core). */
  handleAdmin(req: SandboxRequest, subPath: string): Promise<SandboxResponse> | SandboxResponse;
  /** A JSON-serialisable copy of the whole state, for `--state FILE` persistence. */
  exportState(): unknown;
  importState(state: unknown): void;
  reset(): void;
}
