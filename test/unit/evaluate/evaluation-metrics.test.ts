/**
 * The backtest arithmetic on small tables that can be checked by hand.
 */
import { describe, expect, it } from 'vitest';
import {
  gainsCurve,
  healthChecks,
  orderTiers,
  thresholdMetrics,
  tierMetrics,
  totalsOf,
  wilsonInterval,
  type HealthInput,
} from '../../../src/evaluate/evaluation-metrics.js';

// 100 users: hot 5 of 10 converted, pql 6 of 30, nurture 1 of 60. Base rate 12 / 100.
const TABLE = [
  { tier: 'hot', n: 10, converted: 5, meanScore: 80 },
  { tier: 'pql', n: 30, converted: 6, meanScore: 50 },
  { tier: 'nurture', n: 60, converted: 1, meanScore: 10 },
];

describe('wilsonInterval', () => {
  it('matches the textbook values for 5/10, 0/10 and 10/10', () => {
    const half = wilsonInterval(5, 10);
    expect(half.low).toBeCloseTo(0.2366, 4);
    expect(half.high).toBeCloseTo(0.7634, 4);
    // 0 of n: the lower end is 0 and the upper end is z²/n / (1 + z²/n).
    const none = wilsonInterval(0, 10);
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.38415 / 1.38415, 4);
    const all = wilsonInterval(10, 10);
    expect(all.low).toBeCloseTo(1 - 0.38415 / 1.38415, 4);
    expect(all.high).toBe(1);
  });

  it('is the whole range for an empty group', () => {
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
  });
});

describe('tierMetrics', () => {
  it('computes share, rate, lift against the base rate and recall per tier', () => {
    const tiers = tierMetrics(TABLE);
    expect(tiers.map((t) => [t.tier, t.n, t.share, t.converted, t.rate, t.recall])).toEqual([
      ['hot', 10, 0.1, 5, 0.5, 5 / 12],
      ['pql', 30, 0.3, 6, 0.2, 0.5],
      ['nurture', 60, 0.6, 1, 1 / 60, 1 / 12],
    ]);
    expect(tiers[0]?.lift).toBeCloseTo(0.5 / 0.12, 10);
    expect(tiers[1]?.lift).toBeCloseTo(0.2 / 0.12, 10);
    expect(tiers[2]?.lift).toBeCloseTo(1 / 60 / 0.12, 10);
    expect(tiers[0]?.wilson).toEqual(wilsonInterval(5, 10));
    expect(tiers[0]?.meanScore).toBe(80);
  });

  it('gives zeros, not NaN, when nobody converted', () => {
    const [t] = tierMetrics([{ tier: 'hot', n: 4, converted: 0 }]);
    expect([t?.rate, t?.lift, t?.recall]).toEqual([0, 0, 0]);
  });
});

describe('orderTiers', () => {
  it('puts the highest mean score first, then the most flagged, then by name', () => {
    const ordered = orderTiers([
      { tier: 'b', n: 1, converted: 0, meanScore: null, flagged: 0 },
      { tier: 'nurture', n: 1, converted: 0, meanScore: 10 },
      { tier: 'a', n: 1, converted: 0, meanScore: null, flagged: 0 },
      { tier: 'flagged', n: 2, converted: 0, meanScore: null, flagged: 2 },
      { tier: 'hot', n: 1, converted: 0, meanScore: 90 },
    ]);
    expect(ordered.map((t) => t.tier)).toEqual(['hot', 'nurture', 'flagged', 'a', 'b']);
  });
});

describe('thresholdMetrics', () => {
  it('is precision, recall, flag rate and lift of the flagged group', () => {
    const m = thresholdMetrics({ n: 40, converted: 11 }, totalsOf(TABLE));
    expect(m.flagged).toBe(40);
    expect(m.converted).toBe(11);
    expect(m.precision).toBeCloseTo(0.275, 10);
    expect(m.recall).toBeCloseTo(11 / 12, 10);
    expect(m.flagRate).toBeCloseTo(0.4, 10);
    expect(m.lift).toBeCloseTo(0.275 / 0.12, 10);
  });
});

describe('gainsCurve', () => {
  it('accumulates population and conversions from the top decile down, in decile order', () => {
    const totals = { population: 20, converted: 4, baseRate: 0.2 };
    const gains = gainsCurve(
      [
        { decile: 2, n: 10, converted: 1, minScore: 0, maxScore: 40 },
        { decile: 1, n: 10, converted: 3, minScore: 50, maxScore: 99 },
      ],
      totals,
    );
    expect(gains).toEqual([
      {
        decile: 1,
        n: 10,
        converted: 3,
        populationShare: 0.5,
        capturedShare: 0.75,
        lift: expect.closeTo(1.5, 10),
        minScore: 50,
        maxScore: 99,
      },
      {
        decile: 2,
        n: 10,
        converted: 1,
        populationShare: 1,
        capturedShare: 1,
        lift: expect.closeTo(0.5, 10),
        minScore: 0,
        maxScore: 40,
      },
    ]);
  });
});

function input(overrides: Partial<HealthInput> = {}): HealthInput {
  const tiers = tierMetrics(TABLE);
  const totals = totalsOf(TABLE);
  return {
    tiers,
    totals,
    threshold: thresholdMetrics({ n: 40, converted: 11 }, totals),
    horizonComplete: true,
    dataThrough: '2026-11-01',
    horizonEnd: '2026-11-01',
    ...overrides,
  };
}

describe('healthChecks', () => {
  it('reports every check with its full wording on the hand-checked table', () => {
    expect(healthChecks(input({ topTierConcentration: { account: 'acc_1', rows: 6, share: 0.6 } }))).toEqual([
      {
        check: 'flag_rate',
        status: 'warn',
        detail: '40.0% of the population is flagged (40 of 100); above the 15-35% target, close to too loose',
      },
      {
        check: 'recall',
        status: 'pass',
        detail: 'flagged entities hold 91.7% of conversions (11 of 12); target at least 60%',
      },
      {
        check: 'tier_separation',
        status: 'pass',
        detail: 'top tier hot converts at 50.0%, lowest tier nurture at 1.7% (30.0x); target at least 10x',
      },
      {
        check: 'rank_order',
        status: 'pass',
        detail: 'each tier converts at least as often as the next one down',
      },
      {
        check: 'tier_sample',
        status: 'warn',
        detail:
          'small samples, read the rates with their 95% intervals: hot 5/10 converted (23.7%-76.3%); pql 6/30 converted (9.5%-37.3%); nurture 1/60 converted (0.3%-8.9%)',
      },
      {
        check: 'data_volume',
        status: 'warn',
        detail:
          '100 entities with 12 conversions; with fewer than 1000 entities or 120 conversions the lifts are noisy: use a longer horizon or compare several as-of dates',
      },
      {
        check: 'horizon_complete',
        status: 'pass',
        detail: 'the horizon ends 2026-11-01 and the data reaches 2026-11-01',
      },
      {
        check: 'concentration',
        status: 'warn',
        detail:
          "60.0% of the hot tier (6 of 10) belongs to one account, acc_1: its outcome decides the tier's rate",
      },
    ]);
  });

  it('fails a loose definition ("60% of free users become PQLs") and a tight one', () => {
    const totals = totalsOf(TABLE);
    const loose = healthChecks(input({ threshold: thresholdMetrics({ n: 60, converted: 12 }, totals) }));
    expect(loose[0]).toEqual({
      check: 'flag_rate',
      status: 'fail',
      detail:
        '60.0% of the population is flagged (60 of 100); above 40% the definition is too loose: raise the thresholds (target 15-35%)',
    });
    const tight = healthChecks(input({ threshold: thresholdMetrics({ n: 1, converted: 1 }, totals) }));
    expect(tight[0]).toEqual({
      check: 'flag_rate',
      status: 'fail',
      detail:
        '1.0% of the population is flagged (1 of 100); below 2% the definition is too tight: lower the thresholds (target 15-35%)',
    });
    expect(tight[1]).toEqual({
      check: 'recall',
      status: 'fail',
      detail:
        'flagged entities hold 8.3% of conversions (1 of 12); below 30% the model misses most buyers: look at what converters did',
    });
  });

  it('flags inverted tiers, weak separation and an incomplete horizon', () => {
    const tiers = tierMetrics([
      { tier: 'hot', n: 200, converted: 30 },
      { tier: 'pql', n: 200, converted: 40 },
      { tier: 'nurture', n: 600, converted: 60 },
    ]);
    const totals = totalsOf(tiers);
    const checks = healthChecks({
      tiers,
      totals,
      threshold: thresholdMetrics({ n: 400, converted: 70 }, totals),
      horizonComplete: false,
      dataThrough: '2026-11-01',
      horizonEnd: '2026-12-01',
    });
    const byName = Object.fromEntries(checks.map((c) => [c.check, c]));
    expect(byName.tier_separation).toEqual({
      check: 'tier_separation',
      status: 'warn',
      detail: 'top tier hot converts at 15.0%, lowest tier nurture at 10.0% (1.5x); below the 10x target',
    });
    expect(byName.rank_order).toEqual({
      check: 'rank_order',
      status: 'warn',
      detail: 'pql (20.0%) converts more often than the tier above it',
    });
    expect(byName.tier_sample).toEqual({
      check: 'tier_sample',
      status: 'pass',
      detail: 'every tier has at least 100 entities and 20 conversions',
    });
    expect(byName.data_volume).toEqual({
      check: 'data_volume',
      status: 'pass',
      detail: '1000 entities with 130 conversions; at least 1000 entities and 120 conversions',
    });
    expect(byName.horizon_complete).toEqual({
      check: 'horizon_complete',
      status: 'warn',
      detail:
        'the horizon ends 2026-12-01 but the data stops at 2026-11-01: later conversions are missing, so rates are understated; use an earlier --as-of',
    });
    expect(byName.concentration).toBeUndefined();
  });
});
