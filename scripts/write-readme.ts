import { writeFileSync } from 'node:fs';
import { buildReadme } from './readme-parts.js';

writeFileSync(new URL('../README.md', import.meta.url), buildReadme());
console.log('wrote README.md');
