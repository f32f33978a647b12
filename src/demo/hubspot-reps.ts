/**
 * The rep simulation's calls on the HubSpot sandbox: its admin routes (`/_sandbox/hubspot/...`), with the sandbox's
 * token.
 */
import { adminCall } from './salesforce-reps.js';
import type { OpenTask, RepSandbox } from './simulate-reps.js';

interface AdminRecord {
  id: string;
  properties: Record<string, string>;
  associations: Array<{ to: { id: string }; toObjectType: string }>;
}

export function hubspotReps(url: string, token: string, matchProperty = 'product_user_id'): RepSandbox {
  const call = (method: string, route: string, body?: unknown) => adminCall(url, token, method, route, body);
  const records = async (type: string): Promise<AdminRecord[]> =>
    ((await call('GET', `/_sandbox/hubspot/${type}`)) as { results: AdminRecord[] }).results;
  return {
    async openTasks(): Promise<OpenTask[]> {
      return (await records('tasks'))
        .filter((t) => t.properties.pqlsync_task_key && t.properties.hs_task_status !== 'COMPLETED')
        .map((t) => ({
          taskId: t.id,
          taskKey: t.properties.pqlsync_task_key ?? '',
          personId: t.associations.find((a) => a.toObjectType === 'contacts')?.to.id ?? null,
        }));
    },
    async unconvertedPeople(): Promise<string[]> {
      return (await records('contacts'))
        .filter(
          (c) =>
            c.properties[matchProperty] &&
            !['opportunity', 'customer'].includes(c.properties.lifecyclestage ?? ''),
        )
        .map((c) => c.id);
    },
    async completeTask(taskId, at): Promise<void> {
      await call('POST', `/_sandbox/hubspot/tasks/${taskId}/complete`, { completedAt: at.toISOString() });
    },
    async convert(personId, at, amount): Promise<string> {
      const deal = (await call('POST', `/_sandbox/hubspot/contacts/${personId}/deal`, {
        amount,
        createdAt: at.toISOString(),
      })) as { id: string };
      return deal.id;
    },
    async closeOpportunity(opportunityId, won): Promise<void> {
      await call('POST', `/_sandbox/hubspot/deals/${opportunityId}/stage`, {
        dealstage: won ? 'closedwon' : 'closedlost',
      });
    },
  };
}
