/**
 * The sandbox page (`GET /`): one self-contained HTML document (inline CSS and JS, no external assets) with three
 * tabs (leads and contacts, accounts and companies, tasks), each showing Salesforce and HubSpot one above the
 * other at full width; a CRM with no records at all is left out (a Salesforce demo shows no empty HubSpot column).
 * People and accounts are sorted by score, highest (hot) first; tasks by priority, then due date.
 *
 * Polling: `GET /_sandbox/view` every 2 seconds with `If-None-Match`; the sandbox answers 304 with no body until a
 * request changed its records, so an idle page moves a few hundred bytes, not the whole view.
 *
 * Values are put into the page with `textContent`, never as HTML; a HubSpot task body (HTML) is parsed with
 * DOMParser, which runs no script, and only its text is shown, one line per `<br>` or paragraph.
 *
 * Extending: an extension is a script that runs before the first render and calls
 * `extendTable(tableId, { label, value: (record) => Node | string, cls? })` to add a column (e.g. a button that
 * completes a task and then calls `refreshNow()`). Pass it to renderSandboxPage.
 */

import { renderRepActionsPanel } from './rep-actions-panel.js';

const STYLE = `
:root { --ink:#1d2330; --muted:#667085; --line:#e4e7ec; --bg:#f7f8fa; --card:#fff; --hot:#d92d20; --pql:#dc6803; --pqa:#7a5af8; --nurture:#1570ef; --accent:#155eef; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
header { position:sticky; top:0; z-index:1; display:flex; flex-wrap:wrap; align-items:center; gap:8px 20px; padding:12px 24px 0; background:var(--card); border-bottom:1px solid var(--line); }
header h1 { font-size:18px; margin:0 0 12px; }
header .status { color:var(--muted); font-size:13px; margin:0 0 12px auto; }
nav.tabs { display:flex; gap:4px; align-self:flex-end; }
nav.tabs button { font:inherit; border:none; background:none; padding:8px 14px 10px; cursor:pointer; color:var(--muted); border-bottom:2px solid transparent; }
nav.tabs button[aria-selected="true"] { color:var(--ink); font-weight:600; border-bottom-color:var(--accent); }
nav.tabs .count { margin-left:6px; font-size:12px; color:var(--muted); font-weight:normal; }
main { padding:20px 24px; max-width:1600px; }
section.vendor > h2 { font-size:16px; margin:0 0 10px; }
.note { color:var(--muted); font-size:13px; margin:0 0 16px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; margin-bottom:20px; overflow-x:auto; }
.card h3 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:0; padding:10px 12px; border-bottom:1px solid var(--line); }
.card h3 .count { float:right; font-weight:normal; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:6px 12px; border-bottom:1px solid var(--line); vertical-align:top; overflow-wrap:anywhere; }
th { font-weight:600; font-size:12px; color:var(--muted); white-space:nowrap; }
tr:last-child td { border-bottom:none; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.when { white-space:nowrap; }
td.text { white-space:pre-wrap; min-width:280px; max-width:560px; color:#344054; }
.empty { padding:12px; color:var(--muted); }
.tier { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; color:#fff; background:#98a2b3; white-space:nowrap; }
.tier-hot { background:var(--hot); } .tier-pql { background:var(--pql); } .tier-pqa { background:var(--pqa); } .tier-nurture { background:var(--nurture); }
.kind { color:var(--muted); font-size:12px; }
`;

const SCRIPT = `
const MAX_ROWS = 200;
const TABS = [
  { id: 'people', label: 'Leads & contacts' },
  { id: 'accounts', label: 'Accounts & companies' },
  { id: 'tasks', label: 'Tasks' },
];
const EXTRA_COLUMNS = {};
/** Adds a column to a table ('salesforce-people', 'salesforce-accounts', 'salesforce-tasks', 'hubspot-people', 'hubspot-companies', 'hubspot-tasks'). */
function extendTable(tableId, column) { (EXTRA_COLUMNS[tableId] = EXTRA_COLUMNS[tableId] || []).push(column); }
const el = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return node;
};
const tierBadge = (tier) => tier ? el('span', { class: 'tier tier-' + String(tier).toLowerCase() }, tier) : '';
const when = (v) => { if (!v) return ''; const d = new Date(String(v).replace(/([+-]\\d{2})(\\d{2})$/, '$1:$2')); return isNaN(d) ? String(v) : d.toISOString().slice(0, 16).replace('T', ' '); };
const time = (v) => { const d = new Date(String(v || '').replace(/([+-]\\d{2})(\\d{2})$/, '$1:$2')); return isNaN(d) ? 0 : d.getTime(); };
const num = (v) => { const n = Number(v); return v === '' || v == null || isNaN(n) ? -Infinity : n; };
/** Highest score first (hot before pql before nurture), then the most recently updated. */
const byScore = (score, updated) => (a, b) => (num(score(b)) - num(score(a))) || (time(updated(b)) - time(updated(a)));
const PRIORITY_RANK = { high: 0, medium: 1, normal: 1, low: 2 };
/** Highest priority first, then the earliest due. */
const byPriority = (priority, due) => (a, b) =>
  ((PRIORITY_RANK[String(priority(a) || '').toLowerCase()] ?? 3) - (PRIORITY_RANK[String(priority(b) || '').toLowerCase()] ?? 3)) || (time(due(a)) - time(due(b)));
/** A HubSpot HTML body as text: DOMParser runs no script; only text nodes are kept, a line per <br> or block. */
function htmlText(html) {
  const s = String(html || '');
  if (!/<[a-z!\\/]/i.test(s) && !/&[a-z#0-9]+;/i.test(s)) return s;
  const marked = s.replace(/<br\\s*\\/?>/gi, '\\n').replace(/<\\/(p|div|li|h[1-6])>/gi, '$&\\n');
  const text = new DOMParser().parseFromString(marked, 'text/html').body.textContent || '';
  return text.replace(/\\n{3,}/g, '\\n\\n').trim();
}
function table(id, title, columns, rows) {
  const all = columns.concat(EXTRA_COLUMNS[id] || []);
  const card = el('div', { class: 'card', 'data-table': title, id: id }, el('h3', {}, title, el('span', { class: 'count' }, rows.length.toLocaleString('en-US'))));
  if (rows.length === 0) { card.append(el('div', { class: 'empty' }, 'Nothing yet')); return card; }
  const t = el('table', {}, el('tr', {}, ...all.map((c) => el('th', {}, c.label))));
  for (const row of rows.slice(0, MAX_ROWS)) t.append(el('tr', {}, ...all.map((c) => el('td', c.cls ? { class: c.cls } : {}, c.value(row)))));
  card.append(t);
  if (rows.length > MAX_ROWS) card.append(el('div', { class: 'empty' }, 'and ' + (rows.length - MAX_ROWS).toLocaleString('en-US') + ' more (the ' + MAX_ROWS + ' first shown)'));
  return card;
}
const pick = (props, re) => { const k = Object.keys(props || {}).find((n) => re.test(n)); return k ? props[k] : undefined; };
function salesforce(sf) {
  const users = new Map(sf.users.map((u) => [u.Id, u.Name || u.Email]));
  const owner = (r) => users.get(r.OwnerId) || r.OwnerId || '';
  const names = new Map([...sf.leads, ...sf.contacts, ...sf.accounts].map((r) => [r.Id, r.Name || [r.FirstName, r.LastName].filter(Boolean).join(' ') || r.Email]));
  const updated = (r) => r.LastModifiedDate;
  const people = [...sf.leads.map((r) => ({ ...r, kind: r.IsConverted ? 'Lead (converted)' : 'Lead' })), ...sf.contacts.map((r) => ({ ...r, kind: 'Contact' }))];
  return {
    count: { people: people.length, accounts: sf.accounts.length, tasks: sf.tasks.length },
    people: () => table('salesforce-people', 'Leads and contacts', [
      { label: 'Name', value: (r) => el('span', {}, [r.FirstName, r.LastName].filter(Boolean).join(' '), el('br'), el('span', { class: 'kind' }, r.kind)) },
      { label: 'Email', value: (r) => r.Email || '' },
      { label: 'PQL score', cls: 'num', value: (r) => r.PQL_Score__c ?? '' },
      { label: 'Tier', value: (r) => tierBadge(r.PQL_Tier__c) },
      { label: 'Owner', value: owner },
      { label: 'Updated', cls: 'when', value: (r) => when(updated(r)) },
    ], people.sort(byScore((r) => r.PQL_Score__c, updated))),
    accounts: () => table('salesforce-accounts', 'Accounts', [
      { label: 'Name', value: (r) => r.Name || '' },
      { label: 'PQA score', cls: 'num', value: (r) => r.PQA_Score__c ?? '' },
      { label: 'Tier', value: (r) => tierBadge(r.PQA_Tier__c) },
      { label: 'Owner', value: owner },
      { label: 'Updated', cls: 'when', value: (r) => when(updated(r)) },
    ], [...sf.accounts].sort(byScore((r) => r.PQA_Score__c, updated))),
    tasks: () => table('salesforce-tasks', 'Tasks', [
      { label: 'Due', cls: 'when', value: (r) => r.ActivityDate || '' },
      { label: 'Owner', value: owner },
      { label: 'About', value: (r) => [names.get(r.WhoId), names.get(r.WhatId)].filter(Boolean).join(', ') },
      { label: 'Subject', value: (r) => el('span', {}, r.Subject || '', el('br'), el('span', { class: 'kind' }, (r.Priority || '') + ' · ' + (r.Status || ''))) },
      { label: 'Text', cls: 'text', value: (r) => r.Description || '' },
    ], [...sf.tasks].sort(byPriority((r) => r.Priority, (r) => r.ActivityDate))),
  };
}
function hubspot(hs) {
  const owners = new Map(hs.owners.map((o) => [String(o.id), [o.firstName, o.lastName].filter(Boolean).join(' ') || o.email]));
  const owner = (r) => owners.get(String(r.properties.hubspot_owner_id || '')) || r.properties.hubspot_owner_id || '';
  const updated = (r) => r.properties.lastmodifieddate || r.properties.hs_lastmodifieddate || r.properties.createdate || '';
  const score = (r) => pick(r.properties, /(^|_)pq[la]_score$/i) ?? '';
  const tier = (r) => tierBadge(pick(r.properties, /(^|_)pq[la]_tier$/i));
  const names = new Map([...hs.contacts.map((r) => [r.id, [r.properties.firstname, r.properties.lastname].filter(Boolean).join(' ') || r.properties.email]), ...hs.companies.map((r) => [r.id, r.properties.name])]);
  const about = (r) => (r.associations || []).map((a) => names.get(String(a.to && a.to.id))).filter(Boolean).join(', ');
  return {
    count: { people: hs.contacts.length, accounts: hs.companies.length, tasks: hs.tasks.length },
    people: () => table('hubspot-people', 'Contacts', [
      { label: 'Name', value: (r) => [r.properties.firstname, r.properties.lastname].filter(Boolean).join(' ') },
      { label: 'Email', value: (r) => r.properties.email || '' },
      { label: 'PQL score', cls: 'num', value: score },
      { label: 'Tier', value: tier },
      { label: 'Owner', value: owner },
      { label: 'Updated', cls: 'when', value: (r) => when(updated(r)) },
    ], [...hs.contacts].sort(byScore(score, updated))),
    accounts: () => table('hubspot-companies', 'Companies', [
      { label: 'Name', value: (r) => r.properties.name || r.properties.domain || '' },
      { label: 'PQA score', cls: 'num', value: score },
      { label: 'Tier', value: tier },
      { label: 'Owner', value: owner },
      { label: 'Updated', cls: 'when', value: (r) => when(updated(r)) },
    ], [...hs.companies].sort(byScore(score, updated))),
    tasks: () => table('hubspot-tasks', 'Tasks', [
      { label: 'Due', cls: 'when', value: (r) => when(r.properties.hs_timestamp) },
      { label: 'Owner', value: owner },
      { label: 'About', value: about },
      { label: 'Subject', value: (r) => el('span', {}, r.properties.hs_task_subject || '', el('br'), el('span', { class: 'kind' }, (r.properties.hs_task_priority || '') + ' · ' + (r.properties.hs_task_status || ''))) },
      { label: 'Text', cls: 'text', value: (r) => htmlText(r.properties.hs_task_body) },
    ], [...hs.tasks].sort(byPriority((r) => r.properties.hs_task_priority, (r) => r.properties.hs_timestamp))),
  };
}
let view;
let etag;
const activeTab = () => { const id = location.hash.slice(1); return TABS.some((t) => t.id === id) ? id : 'people'; };
function render() {
  if (!view) return;
  const vendors = [['salesforce', 'Salesforce', salesforce(view.salesforce)], ['hubspot', 'HubSpot', hubspot(view.hubspot)]];
  const total = (v) => v.count.people + v.count.accounts + v.count.tasks;
  // A CRM without any record takes no room; with none anywhere both are shown, empty.
  const shown = vendors.some(([, , v]) => total(v) > 0) ? vendors.filter(([, , v]) => total(v) > 0) : vendors;
  const tab = activeTab();
  document.getElementById('tabs').replaceChildren(...TABS.map((t) => {
    const button = el('button', { role: 'tab', 'data-tab': t.id, 'aria-selected': String(t.id === tab) }, t.label,
      el('span', { class: 'count' }, shown.reduce((n, [, , v]) => n + v.count[t.id], 0).toLocaleString('en-US')));
    button.addEventListener('click', () => { history.replaceState(null, '', '#' + t.id); render(); });
    return button;
  }));
  const hidden = vendors.filter((v) => !shown.includes(v)).map(([, name]) => name);
  document.getElementById('vendors').replaceChildren(
    ...(hidden.length ? [el('p', { class: 'note' }, hidden.join(', ') + ': no records yet (not shown)')] : []),
    ...shown.map(([id, name, v]) => el('section', { class: 'vendor', id: id }, el('h2', {}, name), v[tab]())));
}
async function refresh() {
  const status = document.getElementById('status');
  try {
    const res = await fetch('/_sandbox/view', { cache: 'no-store', headers: etag ? { 'If-None-Match': etag } : {} });
    if (res.status !== 304) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      view = await res.json();
      etag = res.headers.get('ETag') || undefined;
      render();
    }
    status.textContent = 'checked ' + new Date().toLocaleTimeString() + ' · refreshes when records change';
  } catch (e) {
    status.textContent = 'cannot reach the sandbox (' + e.message + '); retrying';
  }
}
/** Fetches the view now (an extension calls it after a change). */
const refreshNow = () => refresh();
window.addEventListener('hashchange', render);
`;

const START = `
refresh();
setInterval(refresh, 2000);
`;

/**
 * The whole page as one HTML string. `extensions` are scripts run after the page's own and before the first
 * render, to add columns with `extendTable`. (Default: none)
 */
export function renderSandboxPage(extensions: readonly string[] = []): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pqlsync sandbox</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>pqlsync sandbox</h1><nav class="tabs" role="tablist" id="tabs"></nav><span class="status" id="status">loading…</span></header>
${renderRepActionsPanel()}
<main id="vendors"></main>
<script>${[SCRIPT, ...extensions, START].join('\n')}</script>
</body>
</html>
`;
}
