/**
 * The demo's account tasks name their tier once, as a rep would read it in a task list ("HOT account: …",
 * "PQL account: …"), on both CRMs: the subject template of the demo config, rendered as the router renders it.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load-config.js';
import { demoConfigText } from '../../../src/demo/demo-config.js';
import { renderTemplate } from '../../../src/routing/task-template.js';

const env = { PQLSYNC_SANDBOX_URL: 'http://127.0.0.1:1', PQLSYNC_SANDBOX_TOKEN: 'token' };

describe.each(['salesforce', 'hubspot'] as const)('the %s demo account task subject', (crm) => {
  const subject = parseConfig(demoConfigText(crm), 'pqlsync.yml', env).syncs.pql_users?.routing?.task.subject;
  const render = (tier: string, users: number) =>
    renderTemplate(
      subject ?? '',
      { tier, company_name: 'Acme', user_count: users, pql_score: 91 },
      { sync: 'pql_users', path: 'syncs.pql_users.routing.task.subject' },
    );

  it('reads "<TIER> account: <company> (<n> qualified users, top score <s>)"', () => {
    expect(render('hot', 3)).toBe('HOT account: Acme (3 qualified users, top score 91)');
    expect(render('pql', 1)).toBe('PQL account: Acme (1 qualified user, top score 91)');
  });
});
