/**
 * The sandbox page's "rep actions" panel: buttons that do what a rep does after pqlsync's handoff, through the
 * admin routes (complete a task, convert a lead / open a deal, move an opportunity or deal to a stage). The admin
 * routes need the sandbox token, which the page never holds: the panel asks for it and sends it with each action.
 * Kept apart from the page's tables (sandbox-page.ts) so the two change independently.
 */

/** The admin route of each action, by button: `{id}` is the record id typed in. */
export const REP_ACTIONS = [
  { id: 'sf-complete', label: 'Salesforce: complete task', route: '/_sandbox/salesforce/Task/{id}/complete' },
  { id: 'sf-convert', label: 'Salesforce: convert lead', route: '/_sandbox/salesforce/Lead/{id}/convert' },
  {
    id: 'sf-stage',
    label: 'Salesforce: move opportunity',
    route: '/_sandbox/salesforce/Opportunity/{id}/stage',
  },
  { id: 'hs-complete', label: 'HubSpot: complete task', route: '/_sandbox/hubspot/tasks/{id}/complete' },
  { id: 'hs-deal', label: 'HubSpot: open deal', route: '/_sandbox/hubspot/contacts/{id}/deal' },
  { id: 'hs-stage', label: 'HubSpot: move deal', route: '/_sandbox/hubspot/deals/{id}/stage' },
] as const;

const SCRIPT = `
(() => {
  const routes = ${JSON.stringify(Object.fromEntries(REP_ACTIONS.map((a) => [a.id, a.route])))};
  const $ = (id) => document.getElementById(id);
  for (const [action, route] of Object.entries(routes)) {
    $('rep-' + action).addEventListener('click', async () => {
      const id = $('rep-record').value.trim();
      const stage = $('rep-stage').value.trim();
      const amount = Number($('rep-amount').value);
      const body = action === 'sf-stage' ? { StageName: stage || 'Closed Won' }
        : action === 'hs-stage' ? { dealstage: stage || 'closedwon' }
        : action === 'sf-convert' ? { opportunity: amount > 0 ? { Amount: amount } : {} }
        : action === 'hs-deal' ? (amount > 0 ? { amount } : {})
        : {};
      const res = await fetch(route.replace('{id}', encodeURIComponent(id)), {
        method: 'POST',
        headers: { Authorization: 'Bearer ' + $('rep-token').value.trim(), 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      $('rep-result').textContent = res.status + ' ' + text.slice(0, 300);
    });
  }
})();
`;

/** The panel as an HTML fragment with its own script (values shown with textContent only). */
export function renderRepActionsPanel(): string {
  const buttons = REP_ACTIONS.map((a) => `<button type="button" id="rep-${a.id}">${a.label}</button>`).join(
    ' ',
  );
  return `<section id="rep-actions" class="card" style="margin:24px 24px 0;padding:12px">
<h3 style="padding:0 0 8px">Rep actions</h3>
<label>token <input id="rep-token" type="password" size="24" autocomplete="off"></label>
<label>record id <input id="rep-record" size="20"></label>
<label>stage <input id="rep-stage" size="14" placeholder="Closed Won / closedwon"></label>
<label>amount <input id="rep-amount" size="8" inputmode="numeric"></label>
<div style="margin-top:8px">${buttons}</div>
<pre id="rep-result" style="white-space:pre-wrap;color:#344054"></pre>
<script>${SCRIPT}</script>
</section>`;
}
