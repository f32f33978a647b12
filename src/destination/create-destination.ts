/**
 * Builds a destination from its config. Vendor SDKs stay inside their folders; this is the only place that
 * knows every destination type.
 */
import path from 'node:path';
import type { DestinationConfig } from '../config/config-schema.js';
import { requireSection, type LoadedConfig } from '../config/load-config.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { createTaskWriter } from './create-task-writer.js';
import { CrmLogins } from './crm-logins.js';
import type { Destination } from './destination.js';
import type { TaskWriter } from '../routing/task-writer.js';
import { FileDestination } from './file/file-destination.js';

/** Command-line settings that override a destination's config. */
export interface DestinationOverrides {
  /** `run --create-properties`: HubSpot creates missing properties. (Default: the config's setting) */
  createProperties?: boolean;
}

/** `logins`: the run's, shared with its task writers. (Default: the destination logs in on its own) */
export async function createDestination(
  name: string,
  loaded: LoadedConfig,
  overrides: DestinationOverrides = {},
  logins?: CrmLogins,
): Promise<Destination> {
  const config: DestinationConfig | undefined = loaded.config.destinations[name];
  if (!config) {
    throw new PqlsyncError('CONFIG_INVALID', `destination '${name}' is not defined`, {
      location: { path: `destinations.${name}` },
    });
  }
  requireSection(loaded, `destinations.${name}`);
  switch (config.type) {
    case 'file':
      return new FileDestination(path.resolve(loaded.projectDir, config.path), config.batch_size);
    case 'hubspot': {
      // Loaded on demand, like Salesforce: only HubSpot syncs need @hubspot/api-client.
      const { HubspotDestination } = await import('./hubspot/hubspot-destination.js');
      return new HubspotDestination({
        name,
        config,
        ...(overrides.createProperties ? { createProperties: true } : {}),
      });
    }
    case 'salesforce': {
      // Loaded on demand: jsforce is large, and only Salesforce syncs need it.
      const { SalesforceDestination } = await import('./salesforce/salesforce-destination.js');
      const options = { name, config, projectDir: loaded.projectDir };
      return new SalesforceDestination({
        ...options,
        ...(logins ? { login: await logins.salesforce(options) } : {}),
      });
    }
    default:
      throw new PqlsyncError(
        'DESTINATION_CONFIG_INVALID',
        `destination type '${(config as { type: string }).type}' is not available in this build`,
        {
          location: { path: `destinations.${name}.type` },
        },
      );
  }
}

/**
 * Starts loading the client code of a destination's type (a vendor SDK: @hubspot/api-client, jsforce) without
 * building the destination or calling its API, so the load overlaps the warehouse's plan instead of following it.
 * A failed load is left to `createDestination`, which loads again and reports it.
 */
export function preloadDestination(config: DestinationConfig | undefined): void {
  const load =
    config?.type === 'hubspot'
      ? import('./hubspot/hubspot-destination.js')
      : config?.type === 'salesforce'
        ? import('./salesforce/salesforce-destination.js')
        : undefined;
  load?.catch(() => undefined);
}

/**
 * Caches destinations per name for one CLI invocation (one run of its syncs), and closes them at the end. Its
 * destinations and task writers share one CRM login per destination (crm-logins.ts).
 */
export class DestinationPool {
  private readonly made = new Map<string, Promise<Destination>>();
  private readonly logins = new CrmLogins();

  constructor(
    private readonly loaded: LoadedConfig,
    private readonly overrides: DestinationOverrides = {},
  ) {}

  get(name: string): Promise<Destination> {
    let d = this.made.get(name);
    if (!d) {
      d = createDestination(name, this.loaded, this.overrides, this.logins);
      this.made.set(name, d);
    }
    return d;
  }

  /** A new task writer of destination `name` (closed by its run), on the destination's login. */
  taskWriter(name: string): Promise<TaskWriter | undefined> {
    return createTaskWriter(name, this.loaded, this.logins);
  }

  async closeAll(): Promise<void> {
    for (const d of this.made.values()) {
      try {
        await (await d).close();
      } catch {
        // a destination that failed to build has nothing to close
      }
    }
  }
}
