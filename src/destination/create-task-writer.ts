/**
 * Builds the task writer (routing's side of a CRM) for a destination from its config. Like the destinations,
 * vendor code is loaded on demand; destinations that cannot hold tasks (file) have none.
 */
import { requireSection, type LoadedConfig } from '../config/load-config.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { TaskWriter } from '../routing/task-writer.js';
import type { CrmLogins } from './crm-logins.js';

/** A destination's config, its secrets resolved; CONFIG_INVALID when no destination has the name. */
export function destinationConfig(
  name: string,
  loaded: LoadedConfig,
): LoadedConfig['config']['destinations'][string] {
  const config = loaded.config.destinations[name];
  if (!config) {
    throw new PqlsyncError('CONFIG_INVALID', `destination '${name}' is not defined`, {
      location: { path: `destinations.${name}` },
    });
  }
  requireSection(loaded, `destinations.${name}`);
  return config;
}

/** `logins`: the run's, shared with its destinations. (Default: the writer logs in on its own) */
export async function createTaskWriter(
  name: string,
  loaded: LoadedConfig,
  logins?: CrmLogins,
): Promise<TaskWriter | undefined> {
  const config = destinationConfig(name, loaded);
  switch (config.type) {
    case 'salesforce': {
      const { SalesforceTaskWriter } = await import('./salesforce/salesforce-tasks.js');
      const options = { name, config, projectDir: loaded.projectDir };
      return new SalesforceTaskWriter({
        ...options,
        ...(logins ? { login: await logins.salesforce(options) } : {}),
      });
    }
    case 'hubspot': {
      const { HubspotTaskWriter } = await import('./hubspot/hubspot-tasks.js');
      return new HubspotTaskWriter({ name, config });
    }
    default:
      return undefined;
  }
}
