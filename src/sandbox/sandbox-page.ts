/**
 * The sandbox page (`GET /`): one self-contained HTML document (inline CSS and JS, no external assets) that
 * polls the read-only `GET /_sandbox/view` every 2 seconds and shows, for Salesforce and HubSpot side by side,
 * the people (leads/contacts) and accounts/companies with their PQL fields, and the tasks, newest first.
 * Values are put into the page with `textContent`, never as HTML.
 */

import { renderRepActionsPanel } from './rep-actions-panel.js';

const STYLE = `
:root { --ink:#1d2330; --muted:#667085; --line:#e4e7ec; --bg:#f7f8fa; --card:#fff; --hot:#d92d20; --pql:#dc6803; --nurture:#1570ef; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
header { display:flex; align-items:baseline; gap:16px; padding:16px 24px; background:var(--card); border-bottom:1px solid var(--line); }
header h1 { font-size:18px; margin:0; }
header .status { color:var(--muted); font-size:13px; }
main { display:grid; grid-template-columns:repeat(auto-fit,minmax(520px,1fr)); gap:24px; padding:24px; }
section.vendor > h2 { font-size:16px; margin:0 0 12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; margin-bottom:16px; overflow:hidden; }
.card h3 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:0; padding:10px 12px; border-bottom:1px solid var(--line); }
.card h3 .count { float:right; font-weight:normal; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:6px 12px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-weight:600; font-size:12px; color:var(--muted); white-space:nowrap; }
tr:last-child td { border-bottom:none; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
td.text { white-space:pre-wrap; max-width:380px; color:#344054; }
.empty { padding:12px; color:var(--muted); }
.tier { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; color:#fff; background:#98a2b3; }
.tier-hot { background:var(--hot); } .tier-pql { background:var(--pql); } .tier-nurture { background:var(--nurture); }
.kind { color:var(--muted); font-size:12px; }
`;

const SCRIPT = `
const MAX_ROWS = 200;
const el = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return node;
};
const tierBadge = (tier) => tier ? el('span', { class: 'tier tier-' + String(tier).toLowerCase() }, tier) : '';
const when = (v) => { if (!v) return ''; const d = new Date(String(v).replace(/([+-]\\d{2})(\\d{2})$/, '$1:$2')); return isNaN(d) ? String(v) : d.toISOString().slice(0, 16).replace('T', ' '); };
const time = (v) => { const d = new Date(String(v || '').replace(/([+-]\\d{2})(\\d{2})$/, '$1:$2')); return isNaN(d) ? 0 : d.getTime(); };
function table(title, columns, rows) {
  const card = el('div', { class: 'card', 'data-table': title }, el('h3', {}, title, el('span', { class: 'count' }, rows.length + '')));
  if (rows.length === 0) { card.append(el('div', { class: 'empty' }, 'Nothing yet')); return card; }
  const t = el('table', {}, el('tr', {}, ...columns.map((c) => el('th', {}, c.label))));
  for (const row of rows.slice(0, MAX_ROWS)) t.append(el('tr', {}, ...columns.map((c) => el('td', c.cls ? { class: c.cls } : {}, c.value(row)))));
  card.append(t);
  if (rows.length > MAX_ROWS) card.append(el('div', { class: 'empty' }, 'and ' + (rows.length - MAX_ROWS) + ' more'));
  return card;
}
const pick = (props, re) => { const k = Object.keys(props || {}).find((n) => re.test(n)); return k ? props[k] : undefined; };
function salesforce(sf) {
  const users = new Map(sf.users.map((u) => [u.Id, u.Name || u.Email]));
  const owner = (r) => users.get(r.OwnerId) || r.OwnerId || '';
  const people = [...sf.leads.map((r) => ({ ...r, kind: r.IsConverted ? 'Lead (converted)' : 'Lead' })), ...sf.contacts.map((r) => ({ ...r, kind: 'Contact' }))]
    .sort((a, b) => time(b.LastModifiedDate) - time(a.LastModifiedDate));
  const names = new Map([...sf.leads, ...sf.contacts, ...sf.accounts].map((r) => [r.Id, r.Name || [r.FirstName, r.LastName].filter(Boolean).join(' ') || r.Email]));
  return el('section', { class: 'vendor', id: 'salesforce' }, el('h2', {}, 'Salesforce'),
    table('Leads and contacts', [
      { label: 'Name', value: (r) => el('span', {}, [r.FirstName, r.LastName].filter(Boolean).join(' '), el('br'), el('span', { class: 'kind' }, r.kind)) },
      { label: 'Email', value: (r) => r.Email || '' },
      { label: 'PQL score', cls: 'num', value: (r) => r.PQL_Score__c ?? '' },
      { label: 'Tier', value: (r) => tierBadge(r.PQL_Tier__c) },
      { label: 'Owner', value: owner },
      { label: 'Updated', value: (r) => when(r.LastModifiedDate) },
    ], people),
    table('Accounts', [
      { label: 'Name', value: (r) => r.Name || '' },
      { label: 'PQA score', cls: 'num', value: (r) => r.PQA_Score__c ?? '' },
      { label: 'Tier', value: (r) => tierBadge(r.PQA_Tier__c) },
      { label: 'Owner', value: owner },
      { label: 'Updated', value: (r) => when(r.LastModifiedDate) },
    ], [...sf.accounts].sort((a, b) => time(b.LastModifiedDate) - time(a.LastModifiedDate))),
    table('Tasks', [
      { label: 'Due', value: (r) => r.ActivityDate || '' },
      { label: 'Owner', value: owner },
      { label: 'About', value: (r) => names.get(r.WhoId) || names.get(r.WhatId) || '' },
      { label: 'Subject', value: (r) => el('span', {}, r.Subject || '', el('br'), el('span', { class: 'kind' }, (r.Priority || '') + ' · ' + (r.Status || ''))) },
      { label: 'Text', cls: 'text', value: (r) => r.Description || '' },
    ], [...sf.tasks].sort((a, b) => time(b.CreatedDate) - time(a.CreatedDate))));
}
function hubspot(hs) {
  const owners = new Map(hs.owners.map((o) => [String(o.id), [o.firstName, o.lastName].filter(Boolean).join(' ') || o.email]));
  const owner = (r) => owners.get(String(r.properties.hubspot_owner_id || '')) || r.properties.hubspot_owner_id || '';
  const updated = (r) => r.properties.lastmodifieddate || r.properties.hs_lastmodifieddate || r.properties.createdate || '';
  const byUpdated = (list) => [...list].sort((a, b) => time(updated(b)) - time(updated(a)));
  const score = (r) => pick(r.properties, /(^|_)pq[la]_score$/i) ?? '';
  const tier = (r) => tierBadge(pick(r.properties, /(^|_)pq[la]_tier$/i));
  const names = new Map([...hs.contacts.map((r) => [r.id, [r.properties.firstname, r.properties.lastname].filter(Boolean).join(' ') || r.properties.email]), ...hs.companies.map((r) => [r.id, r.properties.name])]);
  const about = (r) => (r.associations || []).map((a) => names.get(String(a.to && a.to.id))).filter(Boolean).join(', ');
  return el('section', { class: 'vendor', id: 'hubspot' }, el('h2', {}, 'HubSpot'),
    table('Contacts', [
      { label: 'Name', value: (r) => [r.properties.firstname, r.properties.lastname].filter(Boolean).join(' ') },
      { label: 'Email', value: (r) => r.properties.email || '' },
      { label: 'PQL score', cls: 'num', value: score },
      { label: 'Tier', value: tier },
      { label: 'Owner', value: owner },
      { label: 'Updated', value: (r) => when(updated(r)) },
    ], byUpdated(hs.contacts)),
    table('Companies', [
      { label: 'Name', value: (r) => r.properties.name || r.properties.domain || '' },
      { label: 'PQA score', cls: 'num', value: score },
      { label: 'Tier', value: tier },
      { label: 'Owner', value: owner },
      { label: 'Updated', value: (r) => when(updated(r)) },
    ], byUpdated(hs.companies)),
    table('Tasks', [
      { label: 'Due', value: (r) => when(r.properties.hs_timestamp) },
      { label: 'Owner', value: owner },
      { label: 'About', value: about },
      { label: 'Subject', value: (r) => el('span', {}, r.properties.hs_task_subject || '', el('br'), el('span', { class: 'kind' }, (r.properties.hs_task_priority || '') + ' · ' + (r.properties.hs_task_status || ''))) },
      { label: 'Text', cls: 'text', value: (r) => r.properties.hs_task_body || '' },
    ], [...hs.tasks].sort((a, b) => time(b.properties.hs_createdate || b.properties.createdate) - time(a.properties.hs_createdate || a.properties.createdate))));
}
async function refresh() {
  const status = document.getElementById('status');
  try {
    const res = await fetch('/_sandbox/view', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const view = await res.json();
    document.getElementById('vendors').replaceChildren(salesforce(view.salesforce), hubspot(view.hubspot));
    status.textContent = 'updated ' + new Date().toLocaleTimeString() + ' · refreshes every 2 s';
  } catch (e) {
    status.textContent = 'cannot reach the sandbox (' + e.message + '); retrying';
  }
}
refresh();
setInterval(refresh, 2000);
`;

/** The whole page as one HTML string. */
export function renderSandboxPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pqlsync sandbox</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>pqlsync sandbox</h1><span class="status" id="status">loading…</span></header>
${renderRepActionsPanel()}
<main id="vendors"></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
