import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildReadme } from '../../scripts/readme-parts.js';

describe('README.md', () => {
  it('is current with docs/readme/*.md (npm run readme regenerates it)', () => {
    expect(readFileSync(new URL('../../README.md', import.meta.url), 'utf8')).toBe(buildReadme());
  });

  it('shows the two commands first', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const first = readme.indexOf('npm ci && npm run demo');
    expect(first).toBeGreaterThan(0);
    expect(readme.indexOf('npm ci && npm test')).toBeGreaterThan(first);
    expect(first).toBeLessThan(readme.indexOf('## Contents'));
  });
});
