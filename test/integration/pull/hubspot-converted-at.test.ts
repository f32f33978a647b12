/**
 * HubSpot's conversion time in the read-back (issue 20): HubSpot stamps `hs_lifecyclestage_opportunity_date`
 * ("Became an Opportunity Date") and `hs_lifecyclestage_customer_date` the first time a contact enters those
 * lifecycle stages; the sandbox does the same (a rep's deal: the deal's create time; an API write: its time), and
 * `pqlsync pull` fills `crm_people.converted_at` from them.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { admin as sandboxAdmin } from '../sandbox/salesforce-helpers.js';
import { duckdbPullSuite, pullOnce, TestClock } from './pull-harness.js';

setLogger(createLogger({ level: 'silent' }));

describe('HubSpot converted_at', () => {
  const clock = new TestClock(Date.parse('2026-03-02T09:00:00Z'));
  const suite = duckdbPullSuite('hubspot', clock);
  const admin = async (method: string, route: string, body?: unknown) => {
    const res = await sandboxAdmin(suite.sandbox(), method, route, body);
    return { status: res.status, body: res.body as Record<string, unknown> };
  };

  it('reads when each contact became an opportunity or a customer', async () => {
    const created = await admin('POST', '/_sandbox/hubspot/contacts', {
      records: ['u1', 'u2', 'u3', 'u4'].map((u) => ({ properties: { lastname: u, product_user_id: u } })),
    });
    const [c1, c2, c3] = created.body.results as Array<{ id: string }>;
    clock.tick();
    // u1: a rep opens a deal created (business time) on 2 March 11:00, later won: it stays an opportunity
    // since 11:00 (the first stage it entered) and is a customer from the win.
    const deal = await admin('POST', `/_sandbox/hubspot/contacts/${c1!.id}/deal`, {
      amount: 500,
      createdAt: '2026-03-02T11:00:00.000Z',
    });
    expect(deal.status).toBe(201);
    clock.tick();
    const won = await admin('POST', `/_sandbox/hubspot/deals/${(deal.body as { id: string }).id}/stage`, {
      dealstage: 'closedwon',
    });
    expect(won.status).toBe(200);
    // u2: moved straight to customer through the API; u3: to lead (not converted); u4 untouched.
    clock.tick();
    const movedAt = new Date(clock.now()).toISOString();
    const update = await admin('POST', '/crm/v3/objects/contacts/batch/update', {
      inputs: [
        { id: c2!.id, properties: { lifecyclestage: 'customer' } },
        { id: c3!.id, properties: { lifecyclestage: 'lead' } },
      ],
    });
    expect(update.status).toBe(200);
    clock.tick();

    await pullOnce(suite.loaded(), suite.wh(), clock);
    const { rows } = await suite
      .wh()
      .query(
        `select match_value, status, is_converted, converted_at from pqlsync_state.crm_people order by match_value`,
      );
    expect(
      rows.map((r) => [
        r.match_value,
        r.status,
        r.is_converted,
        r.converted_at === null ? null : new Date(String(r.converted_at)).toISOString(),
      ]),
    ).toEqual([
      ['u1', 'customer', true, '2026-03-02T11:00:00.000Z'],
      ['u2', 'customer', true, movedAt],
      ['u3', 'lead', false, null],
      ['u4', null, false, null],
    ]);
  });

  it("reads a portal's `hs_v2_date_entered_<stage>` dates when the older properties are empty", async () => {
    // Fails with CONVERSION_DATES holding only the hs_lifecyclestage_* names (converted_at null): checked by hand.
    await admin('POST', '/_sandbox/hubspot/contacts', {
      records: [
        {
          properties: {
            lastname: 'v2',
            product_user_id: 'v2',
            lifecyclestage: 'opportunity',
            hs_v2_date_entered_opportunity: '2026-02-20T08:30:00.000Z',
          },
        },
      ],
    });
    clock.tick();
    await pullOnce(suite.loaded(), suite.wh(), clock);
    const { rows } = await suite
      .wh()
      .query(`select is_converted, converted_at from pqlsync_state.crm_people where match_value = 'v2'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.is_converted).toBe(true);
    expect(new Date(String(rows[0]!.converted_at)).toISOString()).toBe('2026-02-20T08:30:00.000Z');
  });
});
