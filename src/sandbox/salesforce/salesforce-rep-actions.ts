/**
 * What reps do in Salesforce after pqlsync hands them a task, as sandbox admin actions
 * (`POST /_sandbox/salesforce/...`): complete a task, convert a lead (Account + Contact + optional Opportunity,
 * as the Lead Convert screen does), move an opportunity to another stage. Each write stamps SystemModstamp with
 * the sandbox clock, so an incremental reader sees it; the business times (CompletedDateTime, ConvertedDate, the
 * opportunity's CreatedDate) may be given, so the demo can play out days of work at once.
 *
 * Glossary:
 * - RepActionError: a refused action (unknown record, a lead already converted, a stage the org does not have);
 *   the admin route answers it with 400 or 404.
 */
import { normalizeId } from './salesforce-ids.js';
import { OPPORTUNITY_STAGES } from './salesforce-schema.js';
import { formatDateTime, type SalesforceStore, type SfRecord } from './salesforce-store.js';

export class RepActionError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

export interface CompleteTaskInput {
  /** When the rep closed it. (Default: the sandbox clock) */
  completedAt?: string;
  /** A closed status. (Default: Completed) */
  status?: string;
  /** The call result (Task.CallDisposition), e.g. `Connected`. (Default: unchanged) */
  outcome?: string;
}

export interface OpportunityInput {
  Name?: string;
  Amount?: number;
  StageName?: string;
  CloseDate?: string;
}

export interface ConvertLeadInput {
  /** The conversion time; ConvertedDate is its date. (Default: the sandbox clock) */
  convertedAt?: string;
  /** The opportunity to create, or omitted for a conversion without one. */
  opportunity?: OpportunityInput;
}

function found(store: SalesforceStore, type: 'Task' | 'Lead' | 'Opportunity', id: string): SfRecord {
  const hit = store.find(normalizeId(id) ?? id);
  if (!hit || hit.type !== type || hit.record.IsDeleted === true)
    throw new RepActionError(404, `no ${type} with id ${id}`);
  return hit.record;
}

function timestamp(value: string | undefined, now: Date, field: string): string {
  if (value === undefined) return formatDateTime(now);
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new RepActionError(400, `${field} must be an ISO-8601 date-time, got '${value}'`);
  return formatDateTime(new Date(t));
}

function checkStage(stage: string): void {
  if (!(OPPORTUNITY_STAGES as readonly string[]).includes(stage))
    throw new RepActionError(400, `StageName '${stage}' is not one of ${OPPORTUNITY_STAGES.join(', ')}`);
}

/** Closes a task (Status Completed unless told) at `completedAt`. */
export function completeTask(
  store: SalesforceStore,
  id: string,
  input: CompleteTaskInput,
  now: Date,
): SfRecord {
  const task = found(store, 'Task', id);
  const status = input.status ?? 'Completed';
  if (status !== 'Completed')
    throw new RepActionError(400, `status '${status}' does not close a task; use Completed`);
  return store.patchRaw('Task', task.Id, {
    Status: status,
    CompletedDateTime: timestamp(input.completedAt, now, 'completedAt'),
    ...(input.outcome !== undefined ? { CallDisposition: input.outcome } : {}),
  });
}

/** Converts a lead into an Account, a Contact and (when asked) an Opportunity, as Lead Convert does. */
export function convertLead(
  store: SalesforceStore,
  id: string,
  input: ConvertLeadInput,
  now: Date,
): { lead: SfRecord; account: SfRecord; contact: SfRecord; opportunity: SfRecord | null } {
  const lead = found(store, 'Lead', id);
  if (lead.IsConverted === true) throw new RepActionError(400, `Lead ${lead.Id} is already converted`);
  const at = timestamp(input.convertedAt, now, 'convertedAt');
  const owner = { OwnerId: lead.OwnerId };
  const account = store.insertRaw('Account', { Name: lead.Company, ...owner });
  const contact = store.insertRaw('Contact', {
    FirstName: lead.FirstName ?? null,
    LastName: lead.LastName,
    Email: lead.Email ?? null,
    AccountId: account.Id,
    ...owner,
  });
  let opportunity: SfRecord | null = null;
  if (input.opportunity) {
    const stage = input.opportunity.StageName ?? 'Prospecting';
    checkStage(stage);
    opportunity = store.insertRaw('Opportunity', {
      Name: input.opportunity.Name ?? `${String(lead.Company)} - product-led`,
      AccountId: account.Id,
      StageName: stage,
      Amount: input.opportunity.Amount ?? null,
      CloseDate: input.opportunity.CloseDate ?? at.slice(0, 10),
      CreatedDate: at,
      ...owner,
    });
  }
  const converted = store.patchRaw('Lead', lead.Id, {
    IsConverted: true,
    Status: 'Closed - Converted',
    ConvertedDate: at.slice(0, 10),
    ConvertedAccountId: account.Id,
    ConvertedContactId: contact.Id,
    ConvertedOpportunityId: opportunity?.Id ?? null,
  });
  return { lead: converted, account, contact, opportunity };
}

/** Moves an opportunity to `StageName` (and sets Amount / CloseDate when given). */
export function moveOpportunity(store: SalesforceStore, id: string, input: OpportunityInput): SfRecord {
  const opportunity = found(store, 'Opportunity', id);
  if (input.StageName === undefined) throw new RepActionError(400, 'StageName is required');
  checkStage(input.StageName);
  return store.patchRaw('Opportunity', opportunity.Id, {
    StageName: input.StageName,
    ...(input.Amount !== undefined ? { Amount: input.Amount } : {}),
    ...(input.CloseDate !== undefined ? { CloseDate: input.CloseDate } : {}),
  });
}
