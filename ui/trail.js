// ui/trail.js — the audit trail: GET /api/audit/events with the auditor
// API's filters (time range, actor, action, namespace, outcome), newest or
// oldest first, a page at a time. The filters live in the address
// ("#/trail?actor=...&continue=..."), so a filtered page can be linked to
// and the browser's Back button returns to the previous page.
import { errorText, getJson, query } from './api.js';
import { el, table } from './dom.js';

const FILTERS = ['since', 'until', 'actor', 'action', 'namespace', 'outcome'];
const COMMON_ACTIONS = [
  'secret.securevalues:decrypt', 'secret.securevalues:create', 'secret.securevalues:write',
  'secret.securevalues:delete', 'secret.securevalues:read', 'sensu.secrets:decrypt',
  'admin.encryption.rotate-data-keys', 'admin.encryption.rotate-kek', 'audit.events:read',
  'audit.verify', 'ui.session.create', 'ui.session.delete',
];

// toInput turns an RFC 3339 UTC time into a datetime-local value (UTC).
function toInput(rfc3339) {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?)/.exec(rfc3339 || '');
  return match ? match[1] : '';
}
// fromInput turns a datetime-local value, read as UTC, into RFC 3339.
function fromInput(value) {
  if (!value) return '';
  return value.length === 16 ? `${value}:00Z` : `${value.slice(0, 19)}Z`;
}

function describeActor(actor) {
  if (!actor) return '';
  return actor.kind && actor.kind !== 'user' ? `${actor.name || '?'} (${actor.kind})` : (actor.name || '');
}

function describeResource(resource) {
  if (!resource) return '';
  return [resource.namespace, resource.kind, resource.name].filter(Boolean).join(' / ');
}

// outcomeBadge shows an outcome as a word (never by colour alone).
export function outcomeBadge(outcome) {
  if (!outcome || !outcome.result) return '';
  const status = outcome.status ? ` ${outcome.status}` : '';
  return el('span', { class: `badge outcome-${outcome.result}`, text: `${outcome.result}${status}` });
}

function filterForm(params) {
  const input = (id, label, props = {}) => el('div', { class: 'field' },
    el('label', { for: `filter-${id}`, text: label }),
    el('input', { id: `filter-${id}`, name: id, type: 'text', value: params.get(id) || '', ...props }));
  const select = (id, label, options, value) => el('div', { class: 'field' },
    el('label', { for: `filter-${id}`, text: label }),
    el('select', { id: `filter-${id}`, name: id },
      options.map(([v, text]) => el('option', { value: v, selected: v === value, text }))));
  return el('form', { id: 'trail-filters', class: 'filters', role: 'search', 'aria-label': 'Filter the audit trail' },
    input('since', 'From (UTC)', { type: 'datetime-local', step: '1', value: toInput(params.get('since')) }),
    input('until', 'To (UTC)', { type: 'datetime-local', step: '1', value: toInput(params.get('until')) }),
    input('actor', 'Actor (user or service name)', { autocomplete: 'off' }),
    input('action', 'Action', { list: 'known-actions', autocomplete: 'off' }),
    el('datalist', { id: 'known-actions' }, COMMON_ACTIONS.map((a) => el('option', { value: a }))),
    input('namespace', 'Namespace', { autocomplete: 'off' }),
    select('outcome', 'Outcome', [['', 'Any'], ['allowed', 'Allowed'], ['denied', 'Denied'], ['failed', 'Failed']], params.get('outcome') || ''),
    select('order', 'Order', [['newest', 'Newest first'], ['oldest', 'Oldest first']], params.get('order') || 'newest'),
    select('limit', 'Per page', [['25', '25'], ['50', '50'], ['100', '100']], params.get('limit') || '50'),
    el('div', { class: 'actions' },
      el('button', { id: 'filter-apply', type: 'submit', text: 'Apply filters' }),
      el('button', { id: 'filter-clear', type: 'button', class: 'secondary', text: 'Clear' })));
}

function hashFor(params) {
  const text = params.toString();
  return text ? `#/trail?${text}` : '#/trail';
}

export async function renderTrail(view, { params }) {
  view.append(el('h1', { id: 'view-title', text: 'Audit trail' }));
  const form = filterForm(params);
  view.append(form);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = new URLSearchParams();
    for (const name of FILTERS) {
      let value = String(data.get(name) || '').trim();
      if (name === 'since' || name === 'until') value = fromInput(value);
      if (value) next.set(name, value);
    }
    next.set('order', String(data.get('order')));
    next.set('limit', String(data.get('limit')));
    location.hash = hashFor(next);
  });
  form.querySelector('#filter-clear').addEventListener('click', () => { location.hash = '#/trail'; });

  const order = params.get('order') === 'oldest' ? 'oldest' : 'newest';
  const request = { order, limit: params.get('limit') || '50', continue: params.get('continue') };
  for (const name of FILTERS) request[name] = params.get(name);
  const results = el('div', { id: 'trail-results', 'aria-live': 'polite' });
  view.append(results);
  let page;
  try {
    page = await getJson(query('/api/audit/events', request));
  } catch (error) {
    results.append(el('p', { class: 'error', role: 'alert', text: errorText(error) }));
    throw error;
  }
  const records = page.records || [];
  const filtered = FILTERS.some((name) => params.get(name));
  results.append(el('p', { id: 'trail-summary', text: records.length === 0
    ? (filtered ? 'No record matches these filters.' : 'No records.')
    : `${records.length} record${records.length === 1 ? '' : 's'}, ${order} first${params.get('continue') ? ' (a later page)' : ''}.` }));
  if (records.length > 0) {
    results.append(el('div', { class: 'table-wrap' }, table({
      id: 'trail-table',
      caption: 'Audit records (select a sequence number for the record, its hash and its checkpoint)',
      headers: ['Seq', 'Time (UTC)', 'Actor', 'Action', 'Resource', 'Outcome', 'Request id'],
      rows: records.map((r) => [
        el('a', { class: 'record-link', href: `#/record/${Number(r.seq)}`, 'aria-label': `Record ${Number(r.seq)}`, text: String(r.seq) }),
        r.time || '',
        r.type === 'checkpoint' ? el('em', { text: 'checkpoint' }) : describeActor(r.actor),
        r.type === 'event' ? (r.action || '') : (r.type || ''),
        describeResource(r.resource),
        outcomeBadge(r.outcome),
        el('span', { class: 'request-id mono', text: r.request_id || '' }),
      ]),
      rowProps: (cells, i) => ({ dataset: { seq: String(records[i].seq), requestId: records[i].request_id || '' } }),
    })));
  }
  const pager = el('nav', { class: 'pager', 'aria-label': 'Pages of the trail' });
  if (params.get('continue')) {
    const first = new URLSearchParams(params);
    first.delete('continue');
    pager.append(el('a', { class: 'button secondary', href: hashFor(first), text: 'First page' }));
  }
  if (page.continue) {
    const next = new URLSearchParams(params);
    next.set('continue', page.continue);
    next.set('order', order);
    pager.append(el('a', { id: 'trail-next', class: 'button', href: hashFor(next), text: order === 'newest' ? 'Older records' : 'Newer records' }));
  }
  if (pager.childElementCount > 0) results.append(pager);
}
