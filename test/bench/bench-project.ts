/**
 * The bench's project: one model over bench.scores and one sync, `users`, to the file destination (bench-case.ts
 * swaps the destination for a null one; bench-cli.ts runs the CLI on it as is).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes `dir/models/scores.sql` and `dir/config/pqlsync.yml` (the warehouse: `dir/wh.duckdb`). */
export function writeBenchProject(dir: string): void {
  mkdirSync(path.join(dir, 'config'));
  mkdirSync(path.join(dir, 'models'));
  writeFileSync(
    path.join(dir, 'models', 'scores.sql'),
    `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, email, pql_score, pql_tier, reasons from bench.scores\n`,
  );
  writeFileSync(
    path.join(dir, 'config', 'pqlsync.yml'),
    `warehouse: { type: duckdb, path: wh.duckdb }
destinations: { out: { type: file } }
syncs:
  users:
    model: scores
    destination: out
    object: Lead
    match: { field: Ext__c }
    fields: { Email: email, PQL_Score__c: pql_score, PQL_Tier__c: pql_tier, PQL_Reasons__c: reasons }
`,
  );
}
