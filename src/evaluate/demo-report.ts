/**
 * The demo's backtest report: `pqlsync demo` ends by evaluating `pql_users` against the demo's conversions and
 * writing `<demo dir>/reports/pql_users.html`.
 */
import path from 'node:path';
import type { LoadedConfig } from '../config/load-config.js';
import { createWarehouse } from '../warehouse/create-warehouse.js';
import { evaluateModel } from './evaluate-model.js';
import type { EvaluationReport } from './evaluation-report.js';
import { writeHtmlReport } from './render-html.js';

/**
 * Days after the as-of date in which the demo counts a conversion. 90 days is the usual free-to-paid window,
 * and it gives the demo's few conversions (about 45 at 5,000 users) enough weight to read. (Default: 90)
 */
export const DEMO_HORIZON_DAYS = 90;

/** Backtests the demo's `pql_users` model and writes its HTML report under `<dir>/reports/`. */
export async function writeDemoReport(
  loaded: LoadedConfig,
  dir: string,
): Promise<{ path: string; report: EvaluationReport }> {
  const wh = await createWarehouse(loaded);
  await wh.connect();
  try {
    const report = await evaluateModel({
      wh,
      modelsDir: loaded.modelsDir,
      model: 'pql_users',
      horizonDays: DEMO_HORIZON_DAYS,
      conversionsTable: 'app.conversions',
      configParams: loaded.config.syncs.pql_users?.params ?? {},
    });
    return { path: writeHtmlReport(report, path.join(dir, 'reports', 'pql_users.html')), report };
  } finally {
    await wh.close();
  }
}
