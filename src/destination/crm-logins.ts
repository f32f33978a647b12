/**
 * The CRM logins of one run, by destination name: the destination that writes the records and the task writer
 * that writes the tasks share one, so a routed run logs in once (one OAuth token request on Salesforce's
 * refresh-token, JWT and client-credentials flows). Held by the run's DestinationPool and dropped with it.
 * HubSpot needs none: its private-app token is sent as it is, and its destination and task writer already draw
 * on one rate-limit budget per portal (hubspot-limiter.ts).
 */
import type { SalesforceLogin, SessionOptions } from './salesforce/salesforce-connection.js';

export class CrmLogins {
  private readonly salesforceLogins = new Map<string, Promise<SalesforceLogin>>();

  /** The Salesforce login of destination `options.name`, made the first time it is asked for (no request yet). */
  salesforce(options: SessionOptions): Promise<SalesforceLogin> {
    let login = this.salesforceLogins.get(options.name);
    if (!login) {
      // Loaded on demand, like the destination: jsforce is large.
      login = import('./salesforce/salesforce-connection.js').then((m) => m.createLogin(options));
      this.salesforceLogins.set(options.name, login);
    }
    return login;
  }
}
