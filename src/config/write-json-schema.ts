/**
 * `npm run schema`: regenerates config/pqlsync.schema.json from the zod schema.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from './json-schema.js';

const target = fileURLToPath(new URL('../../config/pqlsync.schema.json', import.meta.url));
writeFileSync(target, configJsonSchema());
console.log(`wrote ${target}`);
