/**
 * The flag-rate guard through the real CLI on the demo: every run prints the share of rows per tier and the
 * flag rate (human output, --json, the runs table); a model change that flags most users warns, and with
 * --fail-on-flag-rate exits 3.
 */
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

interface FlagRate {
  rows: number;
  flagged: number;
  rate: number;
  max: number;
  exceeded: boolean;
  rule: string;
  tiers: { tier: string; n: number; share: number }[];
}
interface Summary {
  sync: string;
  status: string;
  flagRate?: FlagRate;
}
const parse = <T>(stdout: string): T[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

describe('flag-rate guard', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'pqlsync-flag-rate-'));
  const dir = path.join(root, 'demo');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reports the flag rate of every run, warns above max_flag_rate and exits 3 with --fail-on-flag-rate', async () => {
    const made = await runCli(['demo', '--dir', dir, '--users', '1500', '--crm', 'file', '--no-run'], {
      cwd: root,
    });
    expect(made.code).toBe(0);

    const first = await runCli(['run', 'pql_users'], { cwd: dir });
    expect(first.code).toBe(0);
    const line = first.stdout.split('\n').find((l) => l.startsWith('pql_users: flag rate '));
    expect(line).toMatch(
      /^pql_users: flag rate \d+\.\d% \(\d+ of \d+ rows, is_pql is true; hot \d+\.\d%, pql \d+\.\d%, nurture \d+\.\d%\)$/,
    );

    const json = await runCli(['run', 'pql_users', '--json'], { cwd: dir });
    expect(json.code).toBe(0);
    const [normal] = parse<Summary>(json.stdout);
    const fr = normal!.flagRate!;
    expect(fr.max).toBe(0.4);
    expect(fr.exceeded).toBe(false);
    expect(fr.tiers.map((t) => t.tier)).toEqual(['hot', 'pql', 'nurture']);
    expect(fr.tiers.reduce((s, t) => s + t.n, 0)).toBe(fr.rows);
    expect(fr.flagged).toBe(fr.tiers[0]!.n + fr.tiers[1]!.n);
    expect(fr.rate).toBeCloseTo(fr.flagged / fr.rows, 10);
    expect(fr.rate).toBeLessThan(0.4);
    expect(line).toContain(`(${fr.flagged} of ${fr.rows} rows`);

    // A model change that qualifies everyone (gates off, lines at the bottom): the run still succeeds but warns.
    const loose = JSON.stringify({
      pql_threshold: 1,
      hot_threshold: 2,
      require_activation: false,
      max_inactive_days: 365,
      decline_penalty: 0,
    });
    const warned = await runCli(['run', 'pql_users', '--json', '--vars', loose], { cwd: dir });
    expect(warned.code).toBe(0);
    const [over] = parse<Summary>(warned.stdout);
    expect(over!.flagRate!.rate).toBeGreaterThan(0.6);
    expect(over!.flagRate!.exceeded).toBe(true);
    const warning = parse<{ level: string; msg: string }>(
      warned.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .join('\n'),
    ).find((l) => l.msg.startsWith('pql_users: flag rate '));
    expect(warning?.level).toBe('warn');
    expect(warning?.msg).toBe(
      `pql_users: flag rate ${(over!.flagRate!.rate * 100).toFixed(1)}% (${over!.flagRate!.flagged} of ${over!.flagRate!.rows} rows, is_pql is true; hot 100.0%), above max_flag_rate 40.0%: check the model before reps get these tasks`,
    );

    const failed = await runCli(['run', 'pql_users', '--vars', loose, '--fail-on-flag-rate'], { cwd: dir });
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain(
      `pqlsync: pql_users flagged 100.0% of its rows, more than max_flag_rate 40.0%, with --fail-on-flag-rate: exit 3\n`,
    );

    const runs = await runCli(['runs', 'pql_users', '--json'], { cwd: dir });
    expect(runs.code).toBe(0);
    const recorded = parse<{ flagRate: number | null }>(runs.stdout).map((r) => r.flagRate);
    expect(recorded).toEqual([1, 1, fr.rate, fr.rate]);
    const table = await runCli(['runs', 'pql_users'], { cwd: dir });
    expect(table.stdout.split('\n')[0]).toContain(' flagged ');
    expect(table.stdout).toContain(' 100.0% ');
  }, 240_000);
});
