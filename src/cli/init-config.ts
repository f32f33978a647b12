/**
 * The config `pqlsync init --crm C` writes: the example models synced to the chosen CRM, with every secret and
 * address read from the environment (README: "Your own project in 10 minutes"). Routing is left out: it names
 * the CRM's own users, which only the project knows.
 */
import { EXAMPLE_SYNCS, fieldsYaml, targetYaml } from '../demo/example-mappings.js';

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

/** The config text `init` writes for a CRM. */
export function initConfigText(crm: CrmOnly): string {
  const { users, accounts } = EXAMPLE_SYNCS[crm];
  return `${header}${destinations[crm]}syncs:
  pql_users:
    model: pql_users
    destination: crm
${targetYaml(users)}${fieldsYaml(users, { demo: false })}    schedule: "0 */4 * * *"    # every 4 hours (UTC) under \`pqlsync schedule\`
  pqa_accounts:
    model: pqa_accounts
    destination: crm
    depends_on: [pql_users]
${targetYaml(accounts)}${fieldsYaml(accounts, { demo: false })}    schedule: "15 */4 * * *"
`;
}
