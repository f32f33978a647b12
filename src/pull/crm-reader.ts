/**
 * The boundary between `pqlsync pull` and a CRM's read side. A destination type that can be read back
 * (Salesforce, HubSpot) has a CrmReader next to its destination (`salesforce-reader.ts`, `hubspot-reader.ts`);
 * vendor SDKs stay there.
 *
 * Glossary:
 * - pull object: one CRM object read incrementally with its own watermark (`Task`, `Lead`, `Opportunity`;
 *   `tasks`, `contacts`, `deals`), and the read-back table its rows go to.
 * - scored object: a sync's destination object and match field (the records pqlsync scored); the reader asks
 *   only for records whose match field is set.
 * - watermark: the newest modification time read (Salesforce SystemModstamp, HubSpot hs_lastmodifieddate); a
 *   reader returns only records modified strictly after it.
 */
import type { ReadbackRow, ReadbackTable } from './readback-tables.js';

export interface ScoredObject {
  /** CRM object (Lead, Contact, Account; contacts, companies). */
  object: string;
  /** The sync's match field (Product_User_Id__c; product_user_id). */
  matchField: string;
}

export interface PullObject {
  /** Watermark name, e.g. `Task` or `Lead`. */
  object: string;
  table: ReadbackTable;
}

export interface PulledPage {
  rows: ReadbackRow[];
  /** The newest modification time among `rows` (undefined when none). */
  newest?: Date;
}

export interface CrmReader {
  /** The objects this reader pulls for these scored objects, in the order they should be read. */
  objects(scored: readonly ScoredObject[]): PullObject[];
  /** Every record of `object` modified after `since` (all when null), as rows of its table, in pages. */
  read(object: PullObject, scored: readonly ScoredObject[], since: Date | null): AsyncIterable<PulledPage>;
  /** Requests sent so far. */
  apiCalls(): number;
  close(): Promise<void>;
}
