/**
 * The demo project's config, per CRM.
 */
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

const fileSyncs = `destinations:
  crm:
    type: file
    path: output
syncs:
  pql_users:
    model: pql_users
    destination: crm
    object: Lead
    match: { field: Product_User_Id__c, column: user_id }
    mode: upsert
    fields:
      Email: email
      FirstName: first_name
      LastName: last_name
      Company: company_name
      PQL_Score__c: pql_score
      PQL_Tier__c: pql_tier
      Is_PQL__c: is_pql
      PQL_Reasons__c: reasons
      PQL_Qualified_At__c: qualified_at
  pqa_accounts:
    model: pqa_accounts
    destination: crm
    object: Account
    match: { field: Product_Account_Id__c, column: account_id }
    mode: upsert
    depends_on: [pql_users]
    fields:
      Name: name
      PQA_Score__c: pqa_score
      PQA_Tier__c: pqa_tier
`;

/**
 * The pql_users routing of the CRM demos: the same tiers, rules and task text, with that CRM's sandbox owners (the
 * first takes hand-raisers; all of them share the round robin).
 */
function demoRouting(owners: readonly string[]): string {
  const pool = `[${owners.join(', ')}]`;
  return `    routing:
      score_column: pql_score
      tiers:
        - { name: hot, min_score: hot_threshold }
        - { name: pql, min_score: pql_threshold }
        - { name: nurture }
      task_tiers: [hot, pql]
      sla:
        hot: { due_in: 1h, priority: high }
        pql: { due_in: 4h, reminder_in: 1h, priority: normal }
      rules:
        - name: hand_raisers
          when: { sales_requests: { gt: 0 } }
          assign: { strategy: fixed, owner: ${owners[0]} }
        - name: large_companies
          when: { employee_count: { gte: 500 } }
          assign: { strategy: round_robin, pool: ${pool} }
          set_owner: true
        - name: everyone_else
          assign: { strategy: round_robin, pool: ${pool} }
      task:
        subject: "{{ tier }} PQL: {{ first_name }} {{ last_name }}{{#company_name}} at {{ company_name }}{{/company_name}} (score {{ pql_score }})"
        body: |-
          {{ first_name }} used the product on {{ count(active_days, 'day') }} of the last {{ lookback_days }} ({{ count(events_30d, 'event') }}){{#last_active_on}}, last on {{ date(last_active_on) }}{{/last_active_on}}{{#qualified_at}}; qualified on {{ date(qualified_at) }}{{/qualified_at}}.
          {{#feature_names}}Features used: {{ feature_names }}.{{/feature_names}}{{#integration_names}} Integrations: {{ integration_names }}.{{/integration_names}}
          {{#invites_sent}}Invited {{ count(invites_sent, 'teammate') }}. {{/invites_sent}}{{#pricing_views_30d}}Viewed pricing {{ times(pricing_views_30d) }}. {{/pricing_views_30d}}{{#seats_limit}}Seats: {{ seats_used }} used of {{ seats_limit }} on the {{ plan }} plan.{{/seats_limit}}
          {{#company_name}}Company: {{ company_name }}{{#employee_count}}, {{ count(employee_count, 'employee') }}{{/employee_count}}{{#industry}}, {{ industry }}{{/industry}}.{{/company_name}}
          Signals: {{ reasons }}.
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
    object: contacts
    match: { field: product_user_id, column: user_id }
    mode: upsert
    fields:
      email: email
      firstname: first_name
      lastname: last_name
      company: company_name
      pql_score: pql_score
      pql_tier: pql_tier
      is_pql: is_pql
      pql_reasons: reasons
      pql_qualified_at: qualified_at
${demoRouting(['ada.lovelace@example.com', 'grace.hopper@example.com', 'alan.turing@example.com', 'former.rep@example.com'])}  pqa_accounts:
    model: pqa_accounts
    destination: crm
    object: companies
    match: { field: product_account_id, column: account_id }
    mode: upsert
    depends_on: [pql_users]
    fields:
      name: name
      domain: domain
      pqa_score: pqa_score
      pqa_tier: pqa_tier
      is_pqa: is_pqa
      pqa_reasons: reasons
`;

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
    object: Lead
    match: { field: Product_User_Id__c, column: user_id }
    mode: upsert
    on_remove: { Is_PQL__c: false }
    fields:
      Email: { column: email, skip_null: true }
      FirstName: { column: first_name, skip_null: true }
      LastName: { column: last_name, skip_null: true }
      Company: { column: company_name, skip_null: true }
      PQL_Score__c: pql_score
      PQL_Tier__c: pql_tier
      Is_PQL__c: is_pql
      PQL_Reasons__c: reasons
      PQL_Qualified_At__c: qualified_at
${demoRouting(['ava.patel@example.com', 'ben.okafor@example.com', 'chloe.martin@example.com', 'dev.inactive@example.com'])}  pqa_accounts:
    model: pqa_accounts
    destination: crm
    object: Account
    match: { field: Product_Account_Id__c, column: account_id }
    mode: upsert
    depends_on: [pql_users]
    fields:
      Name: { column: name, skip_null: true }
      PQA_Score__c: pqa_score
      PQA_Tier__c: pqa_tier
`;

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
