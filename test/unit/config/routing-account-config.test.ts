/**
 * The config of account-aware routing and business hours: wrong values are reported together, each with its file,
 * line and path (an unknown account sync, an unknown zone, a rule SLA for a tier that does not exist, a bad
 * `tasks` value); a valid one fills its defaults.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load-config.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';

const config = (routing: string) => `version: 1
destinations:
  crm: { type: file }
syncs:
  users:
    model: pql_users
    destination: crm
    object: Lead
    match: { field: Ext__c }
    fields:
      Score__c: pql_score
    routing:
${routing}`;

function errorOf(text: string): PqlsyncError {
  try {
    parseConfig(text, 'config/pqlsync.yml', {});
  } catch (err) {
    if (err instanceof PqlsyncError) return err;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('account routing and calendar config', () => {
  it('fills the defaults of per-account routing and the calendar', () => {
    const c = parseConfig(
      config(`      account: { column: account_id, field: Acc__c, tasks: per_account }
      calendar: { time_zone: Europe/Berlin }
`),
      'config/pqlsync.yml',
      {},
    );
    expect(c.syncs.users?.routing?.account).toEqual({
      column: 'account_id',
      field: 'Acc__c',
      tasks: 'per_account',
      users_listed: 5,
      ignore_owners: [],
    });
    expect(c.syncs.users?.routing?.calendar).toEqual({
      time_zone: 'Europe/Berlin',
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      hours: '09:00-17:00',
      holidays: [],
    });
  });

  it('names the line and path of each mistake', () => {
    const e = errorOf(
      config(`      account: { column: account_id, field: Acc__c, tasks: per_company }
      calendar:
        time_zone: Europe/Berlinn
`),
    );
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe(
      [
        '2 problems in config/pqlsync.yml:',
        '  config/pqlsync.yml:13: syncs.users.routing.account.tasks: expected one of "per_user", "per_account", got string "per_company"',
        "  config/pqlsync.yml:15: syncs.users.routing.calendar.time_zone: 'Europe/Berlinn' is not an IANA time zone (e.g. Europe/Berlin)",
      ].join('\n'),
    );
    const sla = errorOf(
      config(`      rules:
        - name: enterprise
          sla: { vip: { due_in: 30m } }
`),
    );
    expect(sla.message).toBe(
      [
        '1 problem in config/pqlsync.yml:',
        "  config/pqlsync.yml:15: syncs.users.routing.rules.0.sla.vip: 'vip' is not a tier (tiers: hot, pql, nurture)",
      ].join('\n'),
    );
  });

  it('an account sync that is not in the config', () => {
    const e = errorOf(
      config(`      account: { column: account_id, field: Acc__c, tasks: per_account, sync: accounts }
`),
    );
    expect(e.message).toBe(
      [
        '1 problem in config/pqlsync.yml:',
        "  config/pqlsync.yml:13: syncs.users.routing.account.sync: sync 'accounts' is not defined; syncs are: users",
      ].join('\n'),
    );
  });
});
