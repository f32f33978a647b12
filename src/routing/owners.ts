/**
 * Owner assignment. Owners in the config are CRM ids or emails, resolved against the CRM's owner list once per
 * run. Strategies: `existing_owner` (the record's owner), `account_owner` (the owner of the record's account
 * when it has an active one, else the record's owner), `round_robin` (the next ACTIVE owner of the pool after
 * the persisted cursor, so reruns and restarts continue the rotation instead of reshuffling), `fixed`.
 */
import type { RoutingConfig } from '../config/config-schema.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { AccountRecord, CrmOwner, RoutedRecord } from './task-writer.js';

export class OwnerDirectory {
  private readonly byId = new Map<string, CrmOwner>();
  private readonly byEmail = new Map<string, CrmOwner>();

  constructor(readonly owners: readonly CrmOwner[]) {
    for (const o of owners) {
      this.byId.set(o.id, o);
      if (o.email) this.byEmail.set(o.email.toLowerCase(), o);
    }
  }

  /** The owner named by an id or an email. */
  find(ref: string): CrmOwner | undefined {
    return this.byId.get(ref) ?? this.byEmail.get(ref.trim().toLowerCase());
  }

  get(id: string | null | undefined): CrmOwner | undefined {
    return id ? this.byId.get(id) : undefined;
  }

  /** Resolves the owners a routing config names; throws one CONFIG_INVALID listing every unknown one. */
  resolveConfig(routing: RoutingConfig, sync: string): void {
    const problems: string[] = [];
    routing.rules.forEach((rule, i) => {
      const refs = [
        ...(rule.assign.pool ?? []).map((r, j) => [r, `rules[${i}].assign.pool[${j}]`] as const),
        ...(rule.assign.owner ? [[rule.assign.owner, `rules[${i}].assign.owner`] as const] : []),
      ];
      for (const [ref, path] of refs) {
        if (!this.find(ref)) problems.push(`${path}: no owner '${ref}' in the CRM`);
      }
    });
    (routing.account?.ignore_owners ?? []).forEach((ref, j) => {
      if (!this.find(ref)) problems.push(`account.ignore_owners[${j}]: no owner '${ref}' in the CRM`);
    });
    if (problems.length > 0) {
      const sample = this.owners
        .filter((o) => o.active)
        .slice(0, 10)
        .map((o) => `${o.email} (${o.id})`)
        .join(', ');
      throw new PqlsyncError(
        'CONFIG_INVALID',
        `routing names owners the CRM does not know:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
        {
          location: { sync, path: `syncs.${sync}.routing.rules` },
          hint: `use an owner id or email; active owners: ${sample || 'none'}`,
        },
      );
    }
  }
}

/**
 * Picks the next active owner of `pool` at or after `cursor` (a position in the pool); returns the owner and
 * the cursor to persist (the position after it), or undefined when no owner of the pool is active.
 */
export function roundRobin(
  pool: readonly string[],
  cursor: number,
  directory: OwnerDirectory,
): { owner: CrmOwner; cursor: number } | undefined {
  const n = pool.length;
  const start = ((cursor % n) + n) % n;
  for (let i = 0; i < n; i++) {
    const at = (start + i) % n;
    const owner = directory.find(pool[at] ?? '');
    if (owner?.active) return { owner, cursor: (at + 1) % n };
  }
  return undefined;
}

export type Assignment = { ownerId: string | null; via: string; cursor?: number } | { error: string };

/** Chooses the owner for one task. `cursor` is the round-robin position of this rule's pool. */
export function assignOwner(
  assign: RoutingConfig['rules'][number]['assign'],
  context: {
    record: RoutedRecord | undefined;
    account: AccountRecord | undefined;
    directory: OwnerDirectory;
    cursor: number;
  },
): Assignment {
  const { record, account, directory } = context;
  const recordOwner = { ownerId: record?.ownerId ?? null, via: 'existing owner' };
  switch (assign.strategy) {
    case 'existing_owner':
      return recordOwner;
    case 'account_owner': {
      const owner = directory.get(account?.ownerId);
      if (owner?.active) return { ownerId: owner.id, via: 'account owner' };
      return {
        ...recordOwner,
        via: account ? 'existing owner (account owner inactive)' : 'existing owner (no account)',
      };
    }
    case 'round_robin': {
      const pick = roundRobin(assign.pool ?? [], context.cursor, directory);
      if (!pick)
        return { error: `no owner of the round-robin pool is active (${(assign.pool ?? []).join(', ')})` };
      return { ownerId: pick.owner.id, via: 'round robin', cursor: pick.cursor };
    }
    case 'fixed': {
      const owner = directory.find(assign.owner ?? '');
      if (!owner?.active) return { error: `the fixed owner ${assign.owner ?? ''} is not an active owner` };
      return { ownerId: owner.id, via: 'fixed owner' };
    }
  }
}
