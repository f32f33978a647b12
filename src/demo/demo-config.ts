/**
 * The demo project's config, per CRM.
 */
export const DEMO_CRMS = ['file', 'salesforce', 'hubspot'] as const;
export type DemoCrm = (typeof DEMO_CRMS)[number];

const header = `# pqlsync demo project (created by \`pqlsync demo\`).
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

/** The demo config text for a CRM. Salesforce and HubSpot configs are added by their connectors. */
export function demoConfigText(crm: DemoCrm): string {
  switch (crm) {
    case 'file':
      return header + fileSyncs;
    default:
      return header + fileSyncs;
  }
}
