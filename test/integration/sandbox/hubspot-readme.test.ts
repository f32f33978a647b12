import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { useHubspotFixture } from '../../helpers/hubspot-sandbox-fixture.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const doc = readFileSync(new URL('../../../docs/readme/sandbox-hubspot.md', import.meta.url), 'utf8');

function block(language: string): string {
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(doc);
  if (!match?.[1]) throw new Error(`docs/readme/sandbox-hubspot.md has no \`\`\`${language} block`);
  return match[1];
}

const hs = useHubspotFixture();

it('runs the README snippet with plain node against the sandbox and prints what the README shows', async () => {
  const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', block('js')], {
    cwd: repoRoot,
    env: { ...process.env, PQLSYNC_SANDBOX_TOKEN: hs.server.token, PQLSYNC_SANDBOX_URL: hs.server.url },
  });
  expect(stdout).toBe(block('text'));
  const tasks = (await hs.admin('GET', 'tasks')).body as { results: Array<{ associations: unknown[] }> };
  expect(tasks.results[0]?.associations).toHaveLength(1);
});
