/**
 * The demo project's config, per CRM. The syncs' objects and field mappings are example-mappings.ts's, shared with
 * `pqlsync init`.
 */
import { EXAMPLE_SYNCS, fieldsYaml, targetYaml } from './example-mappings.js';

const { salesforce, hubspot } = EXAMPLE_SYNCS;
export const DEMO_CRMS = ['file', 'salesforce', 'hubspot'] as const;
export type DemoCrm = (typeof DEMO_CRMS)[number];

/** The first line of every config the demo writes: how `pqlsync demo` recognises a project it made. */
export const DEMO_CONFIG_MARKER = '# pqlsync demo project (created by `pqlsync demo`).';

/** True when a config's text was written by the demo (its first line is DEMO_CONFIG_MARKER). */
export function isDemoConfig(text: string): boolean {
  return text.split(/\r?\n/, 1)[0] === DEMO_CONFIG_MARKER;
}

const header = `${DEMO_CONFIG_MARKER}
# yaml-language-server: $schema=./pqlsync.schema.json
version: 1
warehouse:
  type: duckdb
  path: pqlsync.duckdb
state:
  schema: pqlsync_state
`;

// The file destination writes the Salesforce demo's records as they would be sent (no skip_null: it writes what it
// gets).
const fileSyncs = `destinations:
  crm:
    type: file
    path: output
syncs:
  pql_users:
    model: pql_users
    destination: crm
${targetYaml(salesforce.users)}${fieldsYaml(salesforce.users, { demo: true, skipNull: false })}  pqa_accounts:
    model: pqa_accounts
    destination: crm
${targetYaml(salesforce.accounts)}    depends_on: [pql_users]
${fieldsYaml(salesforce.accounts, { demo: true, skipNull: false })}`;

/**
 * The pql_users routing of the CRM demos: the same tiers, routes and task text, with that CRM's sandbox owners (the
 * first takes hand-raisers; all of them share the round robin), its account fields and its self-serve marker. Tasks
 * are per account (one owner, one task per tier entry, linked to the account), due in business hours.
 */
function demoRouting(crm: {
  owners: readonly string[];
  accountField: string;
  /** The account sync's tier field, as a rule column (`account_<field>`). */
  accountTier: string;
  selfServe: string;
  ignoreOwners?: string;
}): string {
  const { owners } = crm;
  const pool = `[${owners.join(', ')}]`;
  return `    routing:
      score_column: pql_score
      tiers:
        - { name: hot, min_score: hot_threshold }
        - { name: pql, min_score: pql_threshold }
        - { name: nurture }
      task_tiers: [hot, pql]
      calendar: { time_zone: America/New_York, days: [mon, tue, wed, thu, fri], hours: '09:00-17:00', holidays: ['2026-11-26', '2026-12-25', '2027-01-01'] }
      sla:
        hot: { due_in: 1h, priority: high }
        pql: { due_in: 4h, reminder_in: 1h, priority: normal }
      account:
        column: account_id
        field: ${crm.accountField}
        tasks: per_account
        sync: pqa_accounts
        users_listed: 5${
          crm.ignoreOwners
            ? `
        ignore_owners: [${crm.ignoreOwners}]`
            : ''
        }
      rules:
        - name: hand_raisers
          when: { sales_requests: { gt: 0 } }
          assign: { strategy: fixed, owner: ${owners[0]} }
        - name: self_serve
          when: { employee_count: { lte: 10 } }
          task: false
          set: ${crm.selfServe}
        - name: no_company
          when: { account_id: null }
          task: false
          set: ${crm.selfServe}
        - name: enterprise
          when: { employee_count: { gte: 1000 } }
          assign: { strategy: round_robin, pool: [${owners[0]}, ${owners[1]}] }
          sla:
            hot: { due_in: 30m, priority: high }
            pql: { due_in: 2h, reminder_in: 30m, priority: high }
          alert: true
        - name: enterprise_hot_accounts
          when: { ${crm.accountTier}: hot, employee_count: { gte: 200 } }
          assign: { strategy: round_robin, pool: [${owners[0]}, ${owners[1]}] }
          sla:
            hot: { due_in: 30m, priority: high }
            pql: { due_in: 2h, reminder_in: 30m, priority: high }
          alert: true
        - name: sales
          assign: { strategy: round_robin, pool: ${pool} }
      task:
        subject: "{{ upper(tier) }} account: {{ company_name }} ({{ count(user_count, 'qualified user') }}, top score {{ pql_score }})"
        user_line: "- {{ first_name }} {{ last_name }} ({{ pql_tier }}, score {{ pql_score }}): active {{ count(active_days, 'day') }} of the last {{ lookback_days }}{{#last_active_on}}, last on {{ date(last_active_on) }}{{/last_active_on}}{{#qualified_at}}, qualified on {{ date(qualified_at) }}{{/qualified_at}}{{#feature_names}}; features: {{ feature_names }}{{/feature_names}}{{#integration_names}}; integrations: {{ integration_names }}{{/integration_names}}{{#invites_sent}}; invited {{ count(invites_sent, 'teammate') }}{{/invites_sent}}{{#pricing_views_30d}}; viewed pricing {{ times(pricing_views_30d) }}{{/pricing_views_30d}}. Signals: {{ reasons }}"
        body: |-
          {{ company_name }} ({{#employee_count}}{{ count(employee_count, 'employee') }}, {{/employee_count}}{{#industry}}{{ industry }}, {{/industry}}{{ plan }} plan{{#seats_limit}}, {{ seats_used }} of {{ seats_limit }} seats used{{/seats_limit}}{{#${crm.accountTier}}}; PQA tier {{ ${crm.accountTier} }}{{/${crm.accountTier}}}) has qualified users:
          {{ users }}
          Due {{ due_date }}.
`;
}

// Users → contacts and accounts → companies in the sandbox, matched by unique product ids (emails can be
// invalid in the demo data, and company domains are not unique in HubSpot).
const hubspotSyncs = `destinations:
  crm:
    type: hubspot
    access_token: \${PQLSYNC_SANDBOX_TOKEN}
    base_url: \${PQLSYNC_SANDBOX_URL}
    create_properties: true
    property_group: pqlsync
syncs:
  pql_users:
    model: pql_users
    destination: crm
${targetYaml(hubspot.users)}    depends_on: [pqa_accounts]
${fieldsYaml(hubspot.users, { demo: true })}${demoRouting({
  owners: [
    'ada.lovelace@example.com',
    'grace.hopper@example.com',
    'alan.turing@example.com',
    'former.rep@example.com',
  ],
  accountField: 'product_account_id',
  accountTier: 'account_pqa_tier',
  selfServe: '{ lifecyclestage: lead }',
})}  pqa_accounts:
    model: pqa_accounts
    destination: crm
${targetYaml(hubspot.accounts)}${fieldsYaml(hubspot.accounts, { demo: true })}`;

// Users → Leads and accounts → Accounts in the sandbox's Salesforce, upserted by the External ID fields. Name
// fields are skip_null, so a null never blanks a value in the CRM; a new Lead for a user with no company gets
// Salesforce's '[not provided]' (the destination's required_placeholder), as Web-to-Lead does.
const salesforceSyncs = `destinations:
  crm:
    type: salesforce
    instance_url: \${PQLSYNC_SANDBOX_URL}
    auth:
      type: access_token
      access_token: \${PQLSYNC_SANDBOX_TOKEN}
syncs:
  pql_users:
    model: pql_users
    destination: crm
${targetYaml(salesforce.users)}    depends_on: [pqa_accounts]
    on_remove: { Is_PQL__c: false }
${fieldsYaml(salesforce.users, { demo: true })}${demoRouting({
  owners: [
    'ava.patel@example.com',
    'ben.okafor@example.com',
    'chloe.martin@example.com',
    'dev.inactive@example.com',
  ],
  accountField: 'Product_Account_Id__c',
  accountTier: 'account_PQA_Tier__c',
  selfServe: '{ PQL_Route__c: self_serve }',
  ignoreOwners: 'integration@pqlsync.sandbox',
})}  pqa_accounts:
    model: pqa_accounts
    destination: crm
${targetYaml(salesforce.accounts)}${fieldsYaml(salesforce.accounts, { demo: true })}`;

/** The demo config text for a CRM. Salesforce and HubSpot configs are added by their connectors. */
export function demoConfigText(crm: DemoCrm): string {
  switch (crm) {
    case 'file':
      return header + fileSyncs;
    case 'hubspot':
      return header + hubspotSyncs;
    case 'salesforce':
      return header + salesforceSyncs;
    default:
      return header + fileSyncs;
  }
}
