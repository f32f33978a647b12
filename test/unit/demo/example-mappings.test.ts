/**
 * `pqlsync init --crm C` and the demo write the same syncs of the example models (example-mappings.ts): init's
 * field mappings are the demo's without the demo-only fields, read back from both configs as pqlsync parses them.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load-config.js';
import { initConfigText } from '../../../src/cli/init-config.js';
import { demoConfigText } from '../../../src/demo/demo-config.js';

const env = {
  PQLSYNC_SANDBOX_URL: 'http://127.0.0.1:1',
  PQLSYNC_SANDBOX_TOKEN: 'token',
  SF_INSTANCE_URL: 'https://example.my.salesforce.com',
  SF_ACCESS_TOKEN: 'token',
  HUBSPOT_TOKEN: 'pat-token',
};

const DEMO_ONLY: Record<'salesforce' | 'hubspot', Record<string, string[]>> = {
  salesforce: { pql_users: ['PQL_Qualified_At__c'], pqa_accounts: [] },
  hubspot: { pql_users: ['pql_qualified_at'], pqa_accounts: ['domain', 'is_pqa', 'pqa_reasons'] },
};

describe.each(['salesforce', 'hubspot'] as const)('init --crm %s', (crm) => {
  const init = parseConfig(initConfigText(crm), 'init.yml', env).syncs;
  const demo = parseConfig(demoConfigText(crm), 'demo.yml', env).syncs;

  it.each(['pql_users', 'pqa_accounts'])('maps %s as the demo does, less its demo-only fields', (sync) => {
    const mine = init[sync]!;
    const theirs = demo[sync]!;
    expect({ object: mine.object, match: mine.match, mode: mine.mode }).toEqual({
      object: theirs.object,
      match: theirs.match,
      mode: theirs.mode,
    });
    const shared = Object.fromEntries(
      Object.entries(theirs.fields).filter(([field]) => !DEMO_ONLY[crm][sync]!.includes(field)),
    );
    expect(mine.fields).toEqual(shared);
  });
});
