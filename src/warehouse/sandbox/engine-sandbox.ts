/**
 * The life cycle the BigQuery and Snowflake sandboxes share: a DuckDB engine behind a local HTTP server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DuckdbEngine } from './duckdb-engine.js';
import { listenLocal, type LocalServer } from './local-server.js';

export abstract class EngineSandbox {
  protected engine: DuckdbEngine | undefined;
  private server: LocalServer | undefined;
  url = '';

  constructor(private readonly port?: number) {}

  /**
   * Statements run once on the fresh engine: DuckDB macros for the vendor functions our SQL uses that DuckDB
   * spells differently. (Default: none)
   */
  protected setupSql(): string[] {
    return [];
  }

  /** Answers one request of the vendor's API. */
  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  async start(): Promise<string> {
    this.engine = await DuckdbEngine.create();
    for (const sql of this.setupSql()) await this.engine.run(sql);
    this.server = await listenLocal((req, res) => this.handle(req, res), this.port);
    this.url = this.server.url;
    return this.url;
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    this.engine?.close();
    this.engine = undefined;
  }
}
