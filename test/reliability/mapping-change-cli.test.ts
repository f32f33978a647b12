/**
 * Issue 23, item 9, as it was found: a sync to Salesforce Leads whose `match.column` changes from user_id to
 * email. Before, the next run sent every row again matched by its email and Salesforce created a second Lead for
 * each; now the run is refused with exit 2 and nothing is sent, and `run --rematch` does what it says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { reliabilityProject, SALESFORCE, validRows, type ReliabilityProject } from './crm-harness.js';

const ROWS = 60;

describe('a changed match column through the CLI (Salesforce)', () => {
  let p: ReliabilityProject;
  beforeAll(async () => {
    p = await reliabilityProject('salesforce', { rows: ROWS });
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  const cli = (...args: string[]) => runCli(args, { cwd: p.project.dir, env: p.env });
  const leads = async () => (await SALESFORCE.records(p.sandbox)).matchValues.length;

  it('is refused with exit 2, sends nothing, and --rematch sends every row under the new match', async () => {
    const first = await cli('run', 'users', '--json');
    expect(first.code).toBe(3); // the harness's invalid rows are rejected
    const valid = validRows(SALESFORCE, ROWS).length;
    expect(await leads()).toBe(valid);

    const config = readFileSync(p.project.configPath, 'utf8');
    writeFileSync(
      p.project.configPath,
      config.replace(
        'match: { field: Product_User_Id__c, column: user_id }',
        'match: { field: Product_User_Id__c, column: email }',
      ),
    );
    const refused = await cli('run', 'users', '--log-level', 'silent');
    const configFile = path.join('config', 'pqlsync.yml');
    expect(refused.stderr).toBe(
      `\n${configFile} (sync users, syncs.users.match.column): the sync's mapping changed since its last run (match.column was 'user_id', now 'email'); its ${valid} synced records were written under the old mapping, and sending them under the new one would make the CRM create a second record for each; refusing\n` +
        "  hint: undo the change, or run with --rematch to forget the sync's snapshot and failures and send every row in full under the new mapping (records written under the old mapping stay in the CRM as they are)\n",
    );
    expect(refused.code).toBe(2);
    expect(await leads()).toBe(valid);

    const rematch = await cli('run', 'users', '--rematch', '--json');
    expect(rematch.code).toBe(3);
    const summary = JSON.parse(rematch.stdout) as { counts: { added: number; applied: number } };
    expect(summary.counts.added).toBe(ROWS);
    // As documented: each row is now matched by its email, which no existing Lead holds in Product_User_Id__c.
    expect(summary.counts.applied).toBe(valid);
    expect(await leads()).toBe(2 * valid);
  }, 300_000);
});
