import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { start } from './salesforce-helpers.js';

const run = promisify(execFile);
const README = new URL('../../../docs/readme/sandbox.md', import.meta.url);

/** The fenced block of `lang` that follows the line containing `after`. */
function blockAfter(markdown: string, after: string, lang: string): string {
  const from = markdown.indexOf(after);
  const open = markdown.indexOf('```' + lang + '\n', from);
  const close = markdown.indexOf('\n```', open + 1);
  if (from < 0 || open < 0 || close < 0)
    throw new Error(`no \`\`\`${lang} block after "${after}" in docs/readme/sandbox.md`);
  return markdown.slice(open + lang.length + 4, close + 1);
}

let sandbox: RunningSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
});

describe('docs/readme/sandbox.md', () => {
  it('runs the jsforce snippet as printed and prints what the README says', async () => {
    const markdown = readFileSync(README, 'utf8');
    const code = blockAfter(markdown, '`salesforce-sandbox.mjs`:', 'js');
    const expected = blockAfter(markdown, 'On a fresh sandbox it prints:', 'text');
    sandbox = await start();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PQLSYNC_SANDBOX_TOKEN: sandbox.token,
      PQLSYNC_SANDBOX_URL: sandbox.url,
    };
    for (const name of ['https_proxy', 'http_proxy', 'HTTPS_PROXY', 'HTTP_PROXY']) delete env[name];
    // `node -e` resolves `jsforce` from the working directory, the repository root, as a user's script would.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
      cwd: new URL('../../../', import.meta.url),
      env,
    });
    expect(stdout).toBe(expected);
  });
});
