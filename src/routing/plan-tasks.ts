/**
 * The human listing of a plan's tasks (`pqlsync plan` without --json): one line per task with the tier
 * transition, rule, owner, due time and subject; `--json` carries the same list in `plan.tasks`.
 */
import type { PlannedTask } from './router.js';

/** Lines listing the tasks a plan would create, or nothing when it would create none. */
export function formatPlannedTasks(sync: string, total: number, tasks: readonly PlannedTask[]): string {
  if (total === 0) return '';
  const rows = tasks.map((t) => [
    t.key,
    `${t.previousTier ?? '-'} -> ${t.tier}`,
    t.rule,
    t.owner,
    t.dueAt.replace(':00.000Z', 'Z'),
    t.priority,
    t.subject.length > 60 ? `${t.subject.slice(0, 57)}...` : t.subject,
  ]);
  const more = total > tasks.length ? `\n  ... and ${total - tasks.length} more` : '';
  const head = `${sync}: ${total} task${total === 1 ? '' : 's'} would be created`;
  const header = ['key', 'tier', 'rule', 'owner', 'due', 'priority', 'subject'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
  const body = [header, widths.map((w) => '-'.repeat(w)), ...rows].map(line).join('\n');
  return `${head}\n${body}${more}\n`;
}
