/**
 * The `@hubspot/api-client` Client both HubSpot writers (records, routing tasks) use: the destination's token and
 * base URL, the client's own retries off (they wait 10 s blindly, process-wide; the batch writer retries), and
 * an http agent that ends a request whose answer has not started within `request_timeout_ms`.
 *
 * Why the agent is set on each request context: in 13.5 the generated API methods apply the configured
 * middleware (where the `httpAgent` option lives) only when a call passes its own options, so `httpAgent`
 * alone never reaches node-fetch. Each API object we use keeps its configuration at `api.configuration`; its
 * `httpApi.send(context)` is wrapped to set the agent first, and to show each answer's rate-limit headers to the
 * limiter (the generated methods return only the body). Checked at construction, so a client version
 * shaped otherwise fails loudly instead of running without timeouts. Each caller names the API objects it calls
 * (`uses`); one it calls without naming it would send without the timeout and unseen by the limiter.
 */
import type http from 'node:http';
import { Client } from '@hubspot/api-client';
import type { DestinationConfig } from '../../config/config-schema.js';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestTimeoutAgent, type RequestAgentOptions } from '../transport.js';

type HubspotConfig = Extract<DestinationConfig, { type: 'hubspot' }>;

export const DEFAULT_BASE_URL = 'https://api.hubapi.com';

export interface HubspotClient {
  client: Client;
  /** The base URL without a trailing slash. */
  baseUrl: string;
  /**
   * The API object `pick` selects, made to send like those `uses` named (through the timeout agent, seen by the
   * observer); for an API a caller needs only later (its generated code loads when first touched).
   */
  use<T>(pick: (client: Client) => T): T;
  /** Destroys the agent's sockets (kept alive between requests). */
  close(): void;
}

/** Called with each answer's status and headers (lower-case names), before the call that sent it settles. */
export type ResponseObserver = (status: number, headers: Record<string, string>) => void;

/** The destination's base URL without a trailing slash (a limiter is kept per base URL and token). */
export function hubspotBaseUrl(config: HubspotConfig): string {
  return (config.base_url ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
}

/**
 * A client whose API objects `uses` picks send through the timeout agent and show their answers to `onResponse`;
 * a caller names every API it calls there, or with `use` before calling it. Only those are touched: the client
 * loads each API's generated code when it is first touched (the owners and v4 associations code the records
 * writer never calls took 150-380 ms to load on the loaded 2-core machine, before a run's first request). Every
 * client pqlsync makes has the same settings, so the process-wide decorators an API is bound to when touched are
 * the same whichever client set them last.
 */
export function createHubspotClient(
  config: HubspotConfig,
  uses: (client: Client) => unknown[],
  onResponse?: ResponseObserver,
  agentOptions: RequestAgentOptions = {},
): HubspotClient {
  const baseUrl = hubspotBaseUrl(config);
  // Configs built in code (not parsed) may lack the schema's default.
  const timeoutMs = config.request_timeout_ms ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const agent: http.Agent = requestTimeoutAgent(baseUrl, timeoutMs, agentOptions);
  const client = new Client({
    accessToken: config.access_token,
    basePath: baseUrl,
    numberOfApiCallRetries: 0,
  });
  const wrapped = new WeakSet<GeneratedConfiguration>();
  const wrap = (api: unknown): void => {
    const configuration = configurationOf(api);
    if (wrapped.has(configuration)) return;
    wrapped.add(configuration);
    const library = configuration.httpApi;
    configuration.httpApi = {
      send(context) {
        context.setAgent(agent);
        const answer = library.send(context);
        return onResponse
          ? answer.pipe((response) => {
              onResponse(response.httpStatusCode, response.headers);
              return response;
            })
          : answer;
      },
    };
  };
  for (const api of uses(client)) wrap(api);
  return {
    client,
    baseUrl,
    use(pick) {
      const api = pick(client);
      wrap(api);
      return api;
    },
    close: () => agent.destroy(),
  };
}

/** The generated code's response: status and lower-case headers. */
interface GeneratedResponse {
  httpStatusCode: number;
  headers: Record<string, string>;
}
/** The generated code's promise wrapper (`rxjsStub.Observable`): `pipe` maps the answer. */
interface GeneratedAnswer {
  pipe(map: (response: GeneratedResponse) => GeneratedResponse): GeneratedAnswer;
}
interface GeneratedConfiguration {
  httpApi: { send(context: { setAgent(agent: http.Agent): void }): GeneratedAnswer };
}

function configurationOf(api: unknown): GeneratedConfiguration {
  const configuration = (api as { api?: { configuration?: Partial<GeneratedConfiguration> } }).api
    ?.configuration;
  if (typeof configuration?.httpApi?.send !== 'function') {
    throw new PqlsyncError(
      'INTERNAL',
      'this version of @hubspot/api-client keeps its http library elsewhere; pqlsync cannot give its requests a timeout',
      { hint: 'install the @hubspot/api-client version pqlsync pins (~13.5.0)' },
    );
  }
  return configuration as GeneratedConfiguration;
}
