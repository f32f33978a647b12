/**
 * The JSON Schema of `config/pqlsync.yml`, generated from the zod schema (for editors: yaml-language-server).
 */
import { z } from 'zod';
import { projectConfigSchema } from './config-schema.js';

export function configJsonSchema(): string {
  const schema = z.toJSONSchema(projectConfigSchema, { io: 'input', unrepresentable: 'any' });
  return JSON.stringify({ ...schema, title: 'pqlsync project config' }, null, 2) + '\n';
}
