/**
 * Rejections as people read them: `<sync>__failures` rows grouped by reason (for the end of a partial run and
 * `pqlsync runs`), and the fields a CRM named in a reason.
 *
 * Glossary: a *rejection* is a failures row; its *reason code* is the CRM's error code (`INVALID_EMAIL_ADDRESS`),
 * or, when the CRM gave none, the text before the first colon of its message.
 */
import type { FailureRecord } from './state-store.js';

/** Rejections that share a reason code and the fields it names. */
export interface RejectionGroup {
  code: string;
  /** The fields the reasons name (see `fieldsOf`); empty when they name none. */
  fields: string[];
  count: number;
  /** Up to `SAMPLE_KEYS` keys, in the order the failures were read. */
  sampleKeys: string[];
  /** The CRM's message of the first of them. */
  message: string;
}

/** How many keys a group names. */
export const SAMPLE_KEYS = 3;

/** The reason code a failure is grouped by. */
export function reasonCode(f: Pick<FailureRecord, 'code' | 'reason'>): string {
  if (f.code) return f.code;
  const head = /^([A-Z][A-Z0-9_]+):/.exec(f.reason)?.[1];
  return head ?? 'UNKNOWN';
}

/**
 * Groups failures by reason code and the fields the reason names (`INVALID_VALUE` on Email apart from
 * `INVALID_VALUE` on PQL_Tier__c), the largest group first (ties by code, then fields).
 */
export function groupRejections(failures: readonly FailureRecord[]): RejectionGroup[] {
  const groups = new Map<string, RejectionGroup>();
  for (const f of failures) {
    const code = reasonCode(f);
    const fields = fieldsOf(f.reason);
    const id = JSON.stringify([code, fields]);
    const g = groups.get(id) ?? { code, fields, count: 0, sampleKeys: [], message: f.reason };
    g.count += 1;
    if (g.sampleKeys.length < SAMPLE_KEYS) g.sampleKeys.push(f.key);
    groups.set(id, g);
  }
  return [...groups.values()].sort(
    (a, b) =>
      b.count - a.count || a.code.localeCompare(b.code) || a.fields.join().localeCompare(b.fields.join()),
  );
}

/**
 * The fields a reason names: Salesforce's `(fields: Email, Phone)`, HubSpot's `property 'email'`, and the
 * `Field: what is wrong` parts of a reason pqlsync wrote itself (values refused before sending).
 */
export function fieldsOf(reason: string): string[] {
  const out = new Set<string>();
  for (const part of reason.split('; ')) {
    const lead = /^([A-Za-z_][\w.]*): /.exec(part)?.[1];
    // A leading CRM error code (`INVALID_EMAIL_ADDRESS: ...`) is not a field.
    if (lead && !/^[A-Z][A-Z0-9_]*$/.test(lead)) out.add(lead);
  }
  for (const m of reason.matchAll(/\(fields: ([^)]*)\)/g)) {
    for (const f of m[1]!.split(',')) if (f.trim()) out.add(f.trim());
  }
  for (const m of reason.matchAll(/propert(?:y|ies) '([^']+)'/g)) out.add(m[1]!);
  return [...out];
}

/**
 * The lines a partial run ends with: each reason with its count, sample keys and the CRM's message, then the
 * command that lists them all.
 */
export function formatRejections(sync: string, groups: readonly RejectionGroup[]): string {
  if (groups.length === 0) return '';
  const total = groups.reduce((n, g) => n + g.count, 0);
  const lines = [`${sync}: ${total.toLocaleString('en-US')} not applied, by reason:`];
  for (const g of groups) {
    const more = g.count > g.sampleKeys.length ? ', …' : '';
    lines.push(`  ${groupLabel(g)} (keys ${g.sampleKeys.join(', ')}${more}): ${oneLine(g.message)}`);
  }
  lines.push(`  list them all: pqlsync failures ${sync}`);
  return lines.join('\n') + '\n';
}

/** A group as the run output and `runs` name it: `INVALID_VALUE on Email × 3`. */
export function groupLabel(g: RejectionGroup): string {
  const on = g.fields.length > 0 ? ` on ${g.fields.join(', ')}` : '';
  return `${g.code}${on} × ${g.count.toLocaleString('en-US')}`;
}

/** Text on one line, cut at `max` characters. */
export function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
