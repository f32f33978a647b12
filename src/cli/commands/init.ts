/**
 * `pqlsync init [dir]`: a new project with the example models and a config that syncs them to the file
 * destination (edit it to point at Salesforce or HubSpot).
 */
import { Command } from 'commander';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { globalFlags, initCli, reportError } from '../cli-context.js';

/** The package's own directory (where `models/` and `config/` ship). */
export const PACKAGE_DIR = fileURLToPath(new URL('../../../', import.meta.url));

export interface InitOptions {
  dir: string;
  /** The config text to write (Default: the package's config/pqlsync.yml). */
  configText?: string;
  force?: boolean;
}

/** Creates `dir/config/pqlsync.yml` and `dir/models/` unless they exist. Returns the config path. */
export function initProject(options: InitOptions): string {
  const dir = path.resolve(options.dir);
  const configPath = path.join(dir, 'config', 'pqlsync.yml');
  if (existsSync(configPath) && !options.force) {
    throw new PqlsyncError('ARGS_INVALID', `${configPath} already exists`, {
      hint: 'pick another directory, or pass --force to overwrite it',
    });
  }
  mkdirSync(path.join(dir, 'config'), { recursive: true });
  const modelsDir = path.join(dir, 'models');
  mkdirSync(modelsDir, { recursive: true });
  cpSync(path.join(PACKAGE_DIR, 'models'), modelsDir, {
    recursive: true,
    force: options.force ?? false,
    errorOnExist: false,
  });
  const schemaSrc = path.join(PACKAGE_DIR, 'config', 'pqlsync.schema.json');
  if (existsSync(schemaSrc)) cpSync(schemaSrc, path.join(dir, 'config', 'pqlsync.schema.json'));
  writeFileSync(configPath, options.configText ?? defaultConfigText());
  return configPath;
}

function defaultConfigText(): string {
  const p = path.join(PACKAGE_DIR, 'config', 'pqlsync.yml');
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a project: config/pqlsync.yml and the example models')
    .argument('[dir]', 'project directory', '.')
    .option('--force', 'overwrite an existing config')
    .action((dir: string, opts: { force?: boolean }, cmd: Command) => {
      const flags = globalFlags(cmd);
      initCli(flags);
      try {
        const configPath = initProject({ dir, force: opts.force ?? false });
        process.stdout.write(`created ${configPath}\nnext: edit it, then \`pqlsync plan --all\`\n`);
      } catch (err) {
        process.exitCode = reportError(err, flags);
      }
    });
}
