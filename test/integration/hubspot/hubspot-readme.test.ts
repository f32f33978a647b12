/**
 * The HubSpot README section's config and preflight message, run as printed against the sandbox and the demo data.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runDemo } from '../../../src/cli/commands/demo.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { runSyncs } from '../../../src/runner/run-syncs.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { REPO_DIR } from '../../helpers/cli.js';

setLogger(createLogger({ level: 'silent' }));

const README = readFileSync(path.join(REPO_DIR, 'docs/readme/hubspot.md'), 'utf8');
const TOKEN = 'pat-na1-readme-token-0001';

function block(lang: string, containing: string): string {
  const blocks = [...README.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map(
    (m) => m[1] ?? '',
  );
  const found = blocks.find((b) => b.includes(containing));
  if (!found) throw new Error(`no \`\`\`${lang} block with ${containing} in docs/readme/hubspot.md`);
  return found;
}

let sandbox: RunningSandbox | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('docs/readme/hubspot.md', () => {
  it('its config runs the demo models into HubSpot; without create_properties preflight prints the message shown', async () => {
    sandbox = await startSandbox({ token: TOKEN, seed: 5 });
    dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-hubspot-readme-'));
    await runDemo({ dir, users: 800, seed: 11, crm: 'file', run: false });
    const config = block('yaml', 'type: hubspot').replace(
      '    type: hubspot\n',
      `    type: hubspot\n    base_url: ${sandbox.url}\n`,
    );
    const configPath = path.join(dir, 'config', 'pqlsync.yml');
    const env = { HUBSPOT_TOKEN: TOKEN };
    const run = () => runSyncs({ loaded: loadConfig(configPath, env), syncs: [], all: true });

    writeFileSync(configPath, config.replace('create_properties: true', 'create_properties: false'));
    const [refused] = await run();
    const printed = block('text', 'do not fit sync').trimEnd().split('\n');
    expect(printed.length).toBeGreaterThan(1);
    for (const line of printed) expect(refused?.error?.message.split('\n')).toContain(line);

    writeFileSync(configPath, config);
    const summaries = await run();
    expect(summaries.map((s) => [s.sync, s.status, s.error?.message])).toEqual([
      ['pql_users', 'success', undefined],
      ['pqa_accounts', 'success', undefined],
    ]);
    const res = await fetch(`${sandbox.url}/crm/v3/properties/contacts/plan`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const plan = (await res.json()) as { type: string; groupName: string; options: Array<{ value: string }> };
    expect([plan.type, plan.groupName, plan.options.map((o) => o.value)]).toEqual([
      'enumeration',
      'pqlsync',
      ['free', 'trial', 'pro'],
    ]);
  });
});
