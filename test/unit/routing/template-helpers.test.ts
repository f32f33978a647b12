/**
 * Task text helpers: sections that drop a clause without a value, counts with the right plural, "once" / "twice",
 * dates, and located errors for a helper that does not exist or is called wrongly.
 */
import { describe, expect, it } from 'vitest';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { countOf, pluralOf, present, timesOf } from '../../../src/routing/template-helpers.js';
import { renderTemplate } from '../../../src/routing/task-template.js';

const where = { sync: 'users', path: 'syncs.users.routing.task.body' };
const render = (t: string, vars: Record<string, unknown>) => renderTemplate(t, vars, where);

describe('count, times and plurals', () => {
  it('writes singular and plural counts, with thousands separators', () => {
    expect([0, 1, 2, 1250].map((n) => countOf(n, 'teammate'))).toEqual([
      '0 teammates',
      '1 teammate',
      '2 teammates',
      '1,250 teammates',
    ]);
    expect(countOf(1, 'person', 'people')).toBe('1 person');
    expect(countOf(4, 'person', 'people')).toBe('4 people');
    expect(countOf('3', 'seat')).toBe('3 seats');
    expect(countOf(null, 'seat')).toBe('0 seats');
    expect(['company', 'day', 'class', 'box', 'match', 'integration'].map(pluralOf)).toEqual([
      'companies',
      'days',
      'classes',
      'boxes',
      'matches',
      'integrations',
    ]);
  });

  it('says once, twice, then N times', () => {
    expect([1, 2, 3, 12000].map(timesOf)).toEqual(['once', 'twice', '3 times', '12,000 times']);
  });

  it('treats null, empty, zero, false and an empty list as absent', () => {
    expect([null, undefined, '', 0, '0', false, [], '  '].map(present)).toEqual(Array(8).fill(false));
    expect([1, -1, 'a', true, ['x'], new Date(0)].map(present)).toEqual(Array(6).fill(true));
  });
});

describe('renderTemplate with helpers and sections', () => {
  const template =
    "{{ first_name }}{{#company_name}} at {{ company_name }}{{/company_name}}: active on {{ count(active_days, 'day') }} of the last {{ lookback_days }}" +
    "{{#invites_sent}}, invited {{ count(invites_sent, 'teammate') }}{{/invites_sent}}" +
    '{{#pricing_views_30d}}, viewed pricing {{ times(pricing_views_30d) }}{{/pricing_views_30d}}' +
    '{{^pricing_views_30d}}, has not looked at pricing{{/pricing_views_30d}}. Qualified {{ date(qualified_at) }}.';

  it('drops clauses whose value is missing: no "0 times", no "invited 1 teammates", no "at -"', () => {
    expect(
      render(template, {
        first_name: 'Ada',
        company_name: null,
        active_days: 1,
        lookback_days: 30,
        invites_sent: 1,
        pricing_views_30d: 0,
        qualified_at: new Date('2026-10-29T00:00:00Z'),
      }),
    ).toBe(
      'Ada: active on 1 day of the last 30, invited 1 teammate, has not looked at pricing. Qualified 2026-10-29.',
    );
    expect(
      render(template, {
        first_name: 'Ada',
        company_name: 'Acme',
        active_days: 12,
        lookback_days: 14,
        invites_sent: 0,
        pricing_views_30d: 2,
        qualified_at: '2026-10-29T13:04:00Z',
      }),
    ).toBe('Ada at Acme: active on 12 days of the last 14, viewed pricing twice. Qualified 2026-10-29.');
  });

  it('nests sections, and prints percent, lower and upper', () => {
    expect(
      render(
        "{{#seats_limit}}{{ count(seats_used, 'seat') }} of {{ seats_limit }}{{#over}} (over){{/over}}{{/seats_limit}}",
        {
          seats_used: 4,
          seats_limit: 3,
          over: true,
        },
      ),
    ).toBe('4 seats of 3 (over)');
    expect(
      render('{{ percent(share) }} {{ lower(tier) }} {{ upper(tier) }}', { share: 0.256, tier: 'Hot' }),
    ).toBe('25.6% hot HOT');
  });

  it('names an unknown column used in a section or a helper, with the names it may use', () => {
    expect(() => render("{{#seats}}x{{/seats}} {{ count(invites, 'teammate') }}", { tier: 'hot' })).toThrow(
      "the task template uses 'seats', 'invites', which are not a model column or routing value (available: tier)",
    );
  });

  it('refuses a helper that does not exist or a wrong argument count, at the template', () => {
    const err = (() => {
      try {
        render('{{ shout(tier) }}', { tier: 'hot' });
      } catch (e) {
        return e as PqlsyncError;
      }
      return undefined;
    })();
    expect(err?.message).toBe(
      'the task template calls shout(), which is not a template helper (helpers: count, times, date, percent, lower, upper)',
    );
    expect(err?.location).toEqual({ sync: 'users', path: 'syncs.users.routing.task.body' });
    expect(() => render('{{ count(n) }}', { n: 1 })).toThrow(
      'the task template calls count() with 1 argument; it takes 2 to 3',
    );
    expect(() => render('{{ times(n, n) }}', { n: 1 })).toThrow(
      'the task template calls times() with 2 arguments; it takes 1',
    );
    expect(() => render('{{ times(n + 1) }}', { n: 1 })).toThrow(
      "the task template calls times() with 'n + 1', which is not a column name, 'text' or a number",
    );
  });

  it('drops a line that only sections emptied, and keeps blank lines the template has', () => {
    const t = 'Hi {{ name }}\n{{#features}}Features: {{ features }}{{/features}}\n\nSignals: {{ reasons }}';
    expect(render(t, { name: 'Ada', features: null, reasons: 'x' })).toBe('Hi Ada\n\nSignals: x');
    expect(render(t, { name: 'Ada', features: 'sharing', reasons: 'x' })).toBe(
      'Hi Ada\nFeatures: sharing\n\nSignals: x',
    );
  });

  it('keeps a quoted comma inside an argument', () => {
    expect(render("{{ count(n, 'item, big') }}", { n: 1 })).toBe('1 item, big');
  });
});
