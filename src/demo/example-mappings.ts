/**
 * The example models' syncs to each CRM (object, match key, field mapping), the one source for the configs that
 * `pqlsync demo` and `pqlsync init --crm C` write.
 *
 * Glossary:
 * - users / accounts: the `pql_users` and `pqa_accounts` models' syncs (Leads or contacts, Accounts or companies).
 * - demoOnly: a field only the demo maps (its sandbox has the field; a new project adds it when it wants it).
 */

/** One CRM field filled from a model column. */
export interface ExampleField {
  field: string;
  column: string;
  /** A null leaves the CRM's value as it is (`skip_null: true`). (Default: false) */
  skipNull?: boolean;
  /** Only the demo's config maps it. (Default: false) */
  demoOnly?: boolean;
}

/** Where a model's rows go in a CRM and which fields they fill. */
export interface ExampleSync {
  object: string;
  match: { field: string; column: string };
  fields: readonly ExampleField[];
}

export const EXAMPLE_SYNCS: Record<'salesforce' | 'hubspot', { users: ExampleSync; accounts: ExampleSync }> =
  {
    salesforce: {
      users: {
        object: 'Lead',
        match: { field: 'Product_User_Id__c', column: 'user_id' },
        fields: [
          { field: 'Email', column: 'email', skipNull: true },
          { field: 'FirstName', column: 'first_name', skipNull: true },
          { field: 'LastName', column: 'last_name', skipNull: true },
          { field: 'Company', column: 'company_name', skipNull: true },
          { field: 'PQL_Score__c', column: 'pql_score' },
          { field: 'PQL_Tier__c', column: 'pql_tier' },
          { field: 'Is_PQL__c', column: 'is_pql' },
          { field: 'PQL_Reasons__c', column: 'reasons' },
          { field: 'PQL_Qualified_At__c', column: 'qualified_at', demoOnly: true },
        ],
      },
      accounts: {
        object: 'Account',
        match: { field: 'Product_Account_Id__c', column: 'account_id' },
        fields: [
          { field: 'Name', column: 'name', skipNull: true },
          { field: 'PQA_Score__c', column: 'pqa_score' },
          { field: 'PQA_Tier__c', column: 'pqa_tier' },
        ],
      },
    },
    hubspot: {
      users: {
        object: 'contacts',
        match: { field: 'product_user_id', column: 'user_id' },
        fields: [
          { field: 'email', column: 'email' },
          { field: 'firstname', column: 'first_name' },
          { field: 'lastname', column: 'last_name' },
          { field: 'company', column: 'company_name' },
          { field: 'pql_score', column: 'pql_score' },
          { field: 'pql_tier', column: 'pql_tier' },
          { field: 'is_pql', column: 'is_pql' },
          { field: 'pql_reasons', column: 'reasons' },
          { field: 'pql_qualified_at', column: 'qualified_at', demoOnly: true },
        ],
      },
      accounts: {
        object: 'companies',
        match: { field: 'product_account_id', column: 'account_id' },
        fields: [
          { field: 'name', column: 'name' },
          { field: 'domain', column: 'domain', demoOnly: true },
          { field: 'pqa_score', column: 'pqa_score' },
          { field: 'pqa_tier', column: 'pqa_tier' },
          { field: 'is_pqa', column: 'is_pqa', demoOnly: true },
          { field: 'pqa_reasons', column: 'reasons', demoOnly: true },
        ],
      },
    },
  };

/** A sync's `object`, `match` and `mode: upsert` lines, indented as under `syncs.<name>`. */
export function targetYaml(sync: ExampleSync): string {
  return `    object: ${sync.object}
    match: { field: ${sync.match.field}, column: ${sync.match.column} }
    mode: upsert
`;
}

/**
 * A sync's `fields:` block. `demo`: with the demo-only fields. `skipNull: false` drops every `skip_null` (the file
 * destination writes what it gets). (Default: each field's own `skipNull`)
 */
export function fieldsYaml(sync: ExampleSync, options: { demo: boolean; skipNull?: false }): string {
  const lines = sync.fields
    .filter((f) => options.demo || !f.demoOnly)
    .map((f) => {
      const value =
        f.skipNull && options.skipNull !== false ? `{ column: ${f.column}, skip_null: true }` : f.column;
      return `      ${f.field}: ${value}\n`;
    });
  return `    fields:\n${lines.join('')}`;
}
