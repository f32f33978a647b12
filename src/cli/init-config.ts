/**
 * The config `pqlsync init --crm C` writes: the example models synced to the chosen CRM, with every secret and
 * address read from the environment (README: "Your own project in 10 minutes"). Routing is left out: it names
 * the CRM's own users, which only the project knows.
 */
export const INIT_CRMS = ['file', 'salesforce', 'hubspot'] as const;
export type InitCrm = (typeof INIT_CRMS)[number];
/** `file` writes the package's own config/pqlsync.yml (with the CRMs commented out). */
type CrmOnly = Exclude<InitCrm, 'file'>;

const header = `# pqlsync project (created by \`pqlsync init\`). Reference: the README's "Config reference".
# yaml-language-server: $schema=./pqlsync.schema.json
version: 1
warehouse:
  type: duckdb
  path: pqlsync.duckdb   # the sample data init wrote; see the README's "Warehouses" for yours
state:
  schema: pqlsync_state
`;

const destinations: Record<CrmOnly, string> = {
  salesforce: `destinations:
  crm:
    type: salesforce
    instance_url: \${SF_INSTANCE_URL}           # https://yourcompany.my.salesforce.com
    auth:                                      # for production, a refresh_token or jwt (README: "Salesforce")
      type: access_token
      access_token: \${SF_ACCESS_TOKEN}
`,
  hubspot: `destinations:
  crm:
    type: hubspot
    access_token: \${HUBSPOT_TOKEN}             # a private app token (pat-...)
    base_url: \${HUBSPOT_BASE_URL:-https://api.hubapi.com}
    create_properties: true                     # creates the pql_* properties in group pqlsync
`,
};

/** Object, match field and field mapping per CRM. */
const users: Record<CrmOnly, string> = {
  salesforce: `    object: Lead
    match: { field: Product_User_Id__c, column: user_id }
    mode: upsert
    fields:
      Email: { column: email, skip_null: true }
      FirstName: { column: first_name, skip_null: true }
      LastName: { column: last_name, skip_null: true }
      Company: { column: company_name, skip_null: true }
      PQL_Score__c: pql_score
      PQL_Tier__c: pql_tier
      Is_PQL__c: is_pql
      PQL_Reasons__c: reasons
`,
  hubspot: `    object: contacts
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
`,
};

const accounts: Record<CrmOnly, string> = {
  salesforce: `    object: Account
    match: { field: Product_Account_Id__c, column: account_id }
    mode: upsert
    fields:
      Name: { column: name, skip_null: true }
      PQA_Score__c: pqa_score
      PQA_Tier__c: pqa_tier
`,
  hubspot: `    object: companies
    match: { field: product_account_id, column: account_id }
    mode: upsert
    fields:
      name: name
      pqa_score: pqa_score
      pqa_tier: pqa_tier
`,
};

/** The config text `init` writes for a CRM. */
export function initConfigText(crm: CrmOnly): string {
  return `${header}${destinations[crm]}syncs:
  pql_users:
    model: pql_users
    destination: crm
${users[crm]}    schedule: "0 */4 * * *"    # every 4 hours (UTC) under \`pqlsync schedule\`
  pqa_accounts:
    model: pqa_accounts
    destination: crm
    depends_on: [pql_users]
${accounts[crm]}    schedule: "15 */4 * * *"
`;
}
