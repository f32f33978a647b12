/** The routing README section's config example loads as printed, with the routing it describes. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { tempProject } from '../../helpers/temp-project.js';

const doc = readFileSync(new URL('../../../docs/readme/routing.md', import.meta.url), 'utf8');

describe('docs/readme/routing.md', () => {
  it('has a config example that loads with its rules, SLAs and templates', () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(yaml).toBeDefined();
    const p = tempProject('pqlsync-routing-doc-');
    try {
      p.writeConfig(yaml ?? '');
      const { config } = loadConfig(p.configPath, { SALESFORCE_ACCESS_TOKEN: 'token-from-env' });
      const routing = config.syncs.pql_leads?.routing;
      expect(
        routing?.rules.map((r) => `${r.name} ${r.assign.strategy} task=${r.task} set_owner=${r.set_owner}`),
      ).toEqual([
        'enterprise round_robin task=true set_owner=true',
        'self_serve existing_owner task=false set_owner=false',
        'named_accounts account_owner task=true set_owner=false',
      ]);
      expect(routing?.rules[0]?.assign.pool).toEqual([
        'ava.patel@example.com',
        'ben.okafor@example.com',
        '005000000000042AAA',
      ]);
      expect(routing?.sla).toEqual({
        hot: { due_in: '1h', priority: 'high' },
        pql: { due_in: '4h', reminder_in: '1h', priority: 'normal' },
      });
      expect(routing?.task.body).toBe(
        'I saw your team has created {{ dashboards_created }} dashboards since {{ signup_date }}.\nSignals: {{ reasons }}. Due {{ due_date }}.',
      );
    } finally {
      p.cleanup();
    }
  });
});
