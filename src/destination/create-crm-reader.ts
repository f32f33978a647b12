/**
 * Builds the read-back side of a CRM (`pqlsync pull`) for a destination from its config; vendor code is loaded on
 * demand. Destinations that cannot be read back (file) have none.
 */
import type { LoadedConfig } from '../config/load-config.js';
import type { CrmReader } from '../pull/crm-reader.js';
import { destinationConfig } from './create-task-writer.js';

export async function createCrmReader(name: string, loaded: LoadedConfig): Promise<CrmReader | undefined> {
  const config = destinationConfig(name, loaded);
  switch (config.type) {
    case 'salesforce': {
      const { SalesforceReader } = await import('./salesforce/salesforce-reader.js');
      return new SalesforceReader({ name, config, projectDir: loaded.projectDir });
    }
    case 'hubspot': {
      const { HubspotReader } = await import('./hubspot/hubspot-reader.js');
      return new HubspotReader({ name, config });
    }
    default:
      return undefined;
  }
}
