/**
 * The model section of the README (docs/readme/models.md) works as printed: its example model is saved as
 * `models/<name>.sql` in an empty project, and every `$ pqlsync ...` console block is run there through the real
 * CLI and must print exactly what the page shows.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_NODE_ARGS } from '../../helpers/cli.js';

const ROOT = process.cwd();
const PAGE = readFileSync(path.join(ROOT, 'docs/readme/models.md'), 'utf8');

const blocks = (lang: string): string[] =>
  [...PAGE.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] ?? '');

/** Splits a console command line the way a POSIX shell would for plain words and '...' quotes. */
const shellWords = (line: string): string[] =>
  [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');

function run(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.PQLSYNC_CONFIG;
    execFile(process.execPath, [...CLI_NODE_ARGS, ...args], { cwd, env }, (_e, out, err) =>
      resolve(out + err),
    );
  });
}

describe('docs/readme/models.md', () => {
  const [model] = blocks('sql');
  const name = /^name: (\w+)$/m.exec(model ?? '')?.[1];
  const project = mkdtempSync(path.join(tmpdir(), 'pqlsync-readme-'));

  it('has an example model and console examples', () => {
    expect(name).toBe('trial_users');
    expect(blocks('console').length).toBeGreaterThanOrEqual(2);
  });

  for (const [i, block] of blocks('console').entries()) {
    it(`console example ${i + 1} prints what the page shows`, async () => {
      mkdirSync(path.join(project, 'models'), { recursive: true });
      writeFileSync(path.join(project, 'models', `${name}.sql`), model ?? '');
      const [command = '', ...expected] = block.trimEnd().split('\n');
      expect(command.startsWith('$ pqlsync ')).toBe(true);
      const output = await run(shellWords(command.slice('$ pqlsync '.length)), project);
      expect(output.trimEnd()).toBe(expected.join('\n'));
    });
  }
});
