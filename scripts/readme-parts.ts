/**
 * README.md is assembled from the sections in docs/readme/ (each tested where it shows commands or code), in
 * this order. `npm run readme` rewrites it; a test checks that it is current.
 */
import { readFileSync } from 'node:fs';

export const README_PARTS = [
  '00-intro.md',
  'own-project.md',
  '20-config-cli.md',
  'models.md',
  'demo-data.md',
  'salesforce.md',
  'hubspot.md',
  'routing.md',
  'warehouses.md',
  'scheduling.md',
  'evaluate.md',
  'closed-loop.md',
  'sandbox.md',
  'sandbox-hubspot.md',
  'reliability.md',
  '90-development.md',
] as const;

export function buildReadme(): string {
  const parts = README_PARTS.map((f) =>
    readFileSync(new URL(`../docs/readme/${f}`, import.meta.url), 'utf8').trim(),
  );
  const [intro, ...rest] = parts;
  const toc = rest
    .flatMap((p) => p.split('\n').filter((l) => l.startsWith('## ')))
    .map((l) => {
      const title = l.slice(3).trim();
      const anchor = title
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, '')
        .replace(/ /g, '-');
      return `- [${title.replace(/`/g, '')}](#${anchor})`;
    });
  const header =
    '<!-- Generated from docs/readme/*.md by `npm run readme`; edit those files, not this one. -->\n\n';
  return `${header}${intro}\n\n## Contents\n\n${toc.join('\n')}\n\n${rest.join('\n\n')}\n`;
}
