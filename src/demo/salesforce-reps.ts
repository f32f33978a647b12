/**
 * The rep simulation's calls on the Salesforce sandbox: its admin routes (`/_sandbox/salesforce/...`), with the
 * sandbox's token.
 */
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { OpenTask, RepSandbox } from './simulate-reps.js';

type SfRecord = Record<string, unknown>;

/** Calls a sandbox admin route and returns its JSON body; a non-2xx answer is a PqlsyncError naming the route. */
export async function adminCall(
  url: string,
  token: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok)
    throw new PqlsyncError(
      'DESTINATION_REQUEST_FAILED',
      `sandbox ${method} ${route} answered ${res.status}: ${text.slice(0, 300)}`,
      {
        kind: 'system',
      },
    );
  return text ? (JSON.parse(text) as unknown) : undefined;
}

export function salesforceReps(
  url: string,
  token: string,
  leadMatchField = 'Product_User_Id__c',
): RepSandbox {
  const call = (method: string, route: string, body?: unknown) => adminCall(url, token, method, route, body);
  const records = async (type: string): Promise<SfRecord[]> =>
    ((await call('GET', `/_sandbox/salesforce/${type}`)) as { records: SfRecord[] }).records;
  return {
    async openTasks(): Promise<OpenTask[]> {
      return (await records('Task'))
        .filter((t) => t.PQLSync_Key__c && t.IsClosed !== true)
        .map((t) => ({
          taskId: String(t.Id),
          taskKey: String(t.PQLSync_Key__c),
          personId: typeof t.WhoId === 'string' && t.WhoId.startsWith('00Q') ? t.WhoId : null,
          accountId: typeof t.AccountId === 'string' ? t.AccountId : null,
        }));
    },
    async unconvertedPeople(): Promise<string[]> {
      return (await records('Lead'))
        .filter((l) => l[leadMatchField] && l.IsConverted !== true)
        .map((l) => String(l.Id));
    },
    async completeTask(taskId, at, outcome): Promise<void> {
      await call('POST', `/_sandbox/salesforce/Task/${taskId}/complete`, {
        completedAt: at.toISOString(),
        outcome,
      });
    },
    async convert(personId, at, amount): Promise<string> {
      const res = (await call('POST', `/_sandbox/salesforce/Lead/${personId}/convert`, {
        convertedAt: at.toISOString(),
        opportunity: { Amount: amount, StageName: 'Qualification' },
      })) as { opportunity: { Id: string } };
      return res.opportunity.Id;
    },
    async openAccountOpportunity(accountId, at, amount): Promise<string> {
      // Salesforce's datetime form (as the sandbox writes CreatedDate itself).
      const stamp = at.toISOString().replace('Z', '+0000');
      const res = (await call('POST', '/_sandbox/salesforce/Opportunity', {
        records: [
          {
            Name: `Account ${accountId} - product-led`,
            AccountId: accountId,
            StageName: 'Qualification',
            Amount: amount,
            CloseDate: stamp.slice(0, 10),
            CreatedDate: stamp,
          },
        ],
      })) as { records: Array<{ Id: string }> };
      return String(res.records[0]?.Id);
    },
    async closeOpportunity(opportunityId, won): Promise<void> {
      await call('POST', `/_sandbox/salesforce/Opportunity/${opportunityId}/stage`, {
        StageName: won ? 'Closed Won' : 'Closed Lost',
      });
    },
  };
}
