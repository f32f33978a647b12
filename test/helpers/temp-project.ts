/**
 * A throwaway pqlsync project in a temp directory: config, models and a DuckDB file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TempProject {
  dir: string;
  configPath: string;
  writeConfig(text: string): void;
  writeModel(name: string, text: string): void;
  cleanup(): void;
}

export function tempProject(prefix = 'pqlsync-test-'): TempProject {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  mkdirSync(path.join(dir, 'config'));
  mkdirSync(path.join(dir, 'models'));
  const configPath = path.join(dir, 'config', 'pqlsync.yml');
  return {
    dir,
    configPath,
    writeConfig: (text) => writeFileSync(configPath, text),
    writeModel: (name, text) => writeFileSync(path.join(dir, 'models', `${name}.sql`), text),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
