/**
 * Alerts to a Slack incoming webhook (`{"text": ...}` JSON; Mattermost, Discord's /slack endpoint and Teams
 * workflows accept the same): a failed run, a rejected share above `alerts.rejected_pct`, a flag rate above the
 * sync's `max_flag_rate`, records whose tier became hot in a run (the "immediate notification" of a hot PQL), and
 * the new tasks of routing rules with `alert: true` (e.g. an enterprise route).
 *
 * An alert never fails or blocks a run: a post that fails or times out is logged and dropped.
 */
import type { AlertsConfig } from '../config/config-schema.js';
import type { Change } from '../destination/destination.js';
import { registerSecret, scrubSecrets } from '../errors/secrets.js';
import type { PlannedTask } from '../routing/router.js';
import { percent } from '../runner/flag-rate-text.js';
import type { RunSummary, RunSyncOptions } from '../runner/run-sync.js';
import { logger } from '../util/logger.js';

/** Posts one JSON body; injectable for tests of the wording (the real one is `fetch`). */
export type PostJson = (url: string, body: unknown, timeoutMs: number) => Promise<void>;

export class WebhookAlerts {
  private readonly hot = new Map<string, Change[]>();
  /** New tasks of routing rules with `alert: true`, per sync. */
  private readonly routed = new Map<string, PlannedTask[]>();

  constructor(
    private readonly config: AlertsConfig,
    private readonly post: PostJson = postJson,
  ) {
    // A Slack webhook URL is a credential: whoever has it can post to the channel.
    registerSecret(config.webhook_url);
  }

  /** The runner hook that collects a sync's records entering the hot tier (undefined when hot alerts are off). */
  tierWatch(sync: string): RunSyncOptions['tierWatch'] {
    return {
      tier: this.config.hot_tier,
      onEnter: (changes) => {
        if (this.config.hot_pqls) this.hot.set(sync, [...(this.hot.get(sync) ?? []), ...changes]);
      },
      onRouted: (tasks) => this.routed.set(sync, [...(this.routed.get(sync) ?? []), ...tasks]),
    };
  }

  /** The messages a finished run calls for, in order: failure, rejected share, flag rate, new hot records. */
  messagesFor(summary: RunSummary): string[] {
    const out: string[] = [];
    const c = this.config;
    if (
      summary.status === 'failed' &&
      c.on_failure &&
      summary.error &&
      summary.error.code !== 'STATE_LOCK_HELD'
    ) {
      out.push(
        `:rotating_light: pqlsync sync *${summary.sync}* failed (run ${summary.runId || 'not started'}): ${summary.error.message}`,
      );
    }
    const sent = summary.counts.applied + summary.counts.rejected;
    const pct = sent > 0 ? (summary.counts.rejected / sent) * 100 : 0;
    if (sent > 0 && pct > c.rejected_pct) {
      out.push(
        `:warning: pqlsync sync *${summary.sync}* had ${summary.counts.rejected} of ${sent} records rejected ` +
          `(${pct.toFixed(1)}%, above alerts.rejected_pct ${c.rejected_pct}); see \`pqlsync runs ${summary.sync}\``,
      );
    }
    const fr = summary.flagRate;
    if (fr?.exceeded) {
      out.push(
        `:warning: pqlsync sync *${summary.sync}* flagged ${fr.flagged} of ${fr.rows} rows ` +
          `(${percent(fr.rate)}, above max_flag_rate ${percent(fr.max)}): check the model before reps work these`,
      );
    }
    const hot = this.hot.get(summary.sync) ?? [];
    if (hot.length > 0) {
      const listed = hot.slice(0, c.max_listed).map((ch) => `• ${ch.matchValue}: ${describe(ch)}`);
      const more = hot.length > c.max_listed ? [`…and ${hot.length - c.max_listed} more`] : [];
      const noun = hot.length === 1 ? 'record' : 'records';
      out.push(
        [
          `:fire: ${hot.length} new ${c.hot_tier} ${noun} from sync *${summary.sync}*:`,
          ...listed,
          ...more,
        ].join('\n'),
      );
    }
    const routed = this.routed.get(summary.sync) ?? [];
    if (routed.length > 0) {
      const listed = routed
        .slice(0, c.max_listed)
        .map((t) => `• ${t.subject} → ${t.owner}, due ${t.dueAt.replace(':00.000Z', 'Z')} (rule ${t.rule})`);
      const more = routed.length > c.max_listed ? [`…and ${routed.length - c.max_listed} more`] : [];
      const noun = routed.length === 1 ? 'task' : 'tasks';
      out.push(
        [
          `:briefcase: ${routed.length} new routed ${noun} to alert on from sync *${summary.sync}*:`,
          ...listed,
          ...more,
        ].join('\n'),
      );
    }
    return out;
  }

  /**
   * Posts what a finished run calls for. Never throws. `quiet` (a run stopped by shutdown) posts nothing but
   * still forgets the collected hot records.
   */
  async afterRun(summary: RunSummary, options: { quiet?: boolean } = {}): Promise<number> {
    const messages = options.quiet ? [] : this.messagesFor(summary);
    this.hot.delete(summary.sync);
    this.routed.delete(summary.sync);
    let posted = 0;
    for (const text of messages) {
      try {
        await this.post(this.config.webhook_url, { text }, this.config.timeout_ms);
        posted++;
      } catch (err) {
        logger().warn(
          { sync: summary.sync, err: scrubSecrets(err instanceof Error ? err.message : String(err)) },
          'alert webhook post failed; the run is not affected',
        );
      }
    }
    return posted;
  }
}

/** The first few mapped values of a record, for the alert line. */
function describe(change: Change): string {
  const entries = Object.entries(change.values).slice(0, 4);
  return entries.map(([k, v]) => `${k}=${v === null || v === undefined ? '' : String(v)}`).join(', ');
}

/** POSTs JSON with a timeout; throws on a network error or a non-2xx answer. */
export async function postJson(url: string, body: unknown, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) {
    const text = (await res.text().catch(() => '')).slice(0, 200);
    throw new Error(`HTTP ${res.status} from the alert webhook${text ? `: ${text}` : ''}`);
  }
}
