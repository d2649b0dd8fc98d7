// ui/overview.js — the overview (#/overview): secrets per namespace (GET
// /api/admin/encryption/keys) and decrypts and denials per hour over the
// last 24 hours (GET /api/audit/counts), drawn by chart.js.
import { errorText, getJson } from './api.js';
import { el, table } from './dom.js';
import { barChart } from './chart.js';

const HOUR_MS = 3600 * 1000;

// parseTime reads an RFC 3339 time; the server writes microseconds, which
// Date.parse is only sure to read to the millisecond.
const parseTime = (text) => Date.parse(String(text).replace(/(\.\d{3})\d+/, '$1'));

// isDecrypt: the decrypt actions (SecureValues, Dapr and Sensu resolution).
const isDecrypt = (action) => typeof action === 'string' && action.endsWith(':decrypt');

// hourly folds the count buckets into per-hour decrypts (allowed) and
// denials (any action), from the hour of `from` to the hour of `to`.
function hourly(counts) {
  const start = Math.floor(parseTime(counts.from) / HOUR_MS) * HOUR_MS;
  const end = Math.floor((parseTime(counts.to) - 1) / HOUR_MS) * HOUR_MS;
  const hours = [];
  for (let t = start; t <= end && hours.length < 24 * 32; t += HOUR_MS) hours.push(t);
  const decrypts = hours.map(() => 0);
  const denials = hours.map(() => 0);
  for (const b of counts.buckets || []) {
    const i = hours.indexOf(Math.floor(parseTime(b.hour) / HOUR_MS) * HOUR_MS);
    if (i < 0) continue;
    if (isDecrypt(b.action) && b.outcome === 'allowed') decrypts[i] += Number(b.count) || 0;
    if (b.outcome === 'denied') denials[i] += Number(b.count) || 0;
  }
  const labels = hours.map((t) => new Date(t).toISOString().slice(11, 16));
  return { labels, decrypts, denials };
}

export async function renderOverview(view) {
  view.append(el('h1', { id: 'view-title', text: 'Overview' }));
  let inventory;
  let counts;
  try {
    inventory = await getJson('/api/admin/encryption/keys');
    counts = await getJson('/api/audit/counts');
  } catch (error) {
    view.append(el('p', { class: 'error', role: 'alert', text: errorText(error) }));
    throw error;
  }
  const namespaces = [...(inventory.namespaces || [])].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  const total = namespaces.reduce((sum, n) => sum + (Number(n.secure_values) || 0) + (Number(n.sensu_secrets) || 0), 0);
  view.append(el('h2', { text: 'Secrets per namespace' }),
    el('p', { id: 'overview-total', text: `${total} secret${total === 1 ? '' : 's'} in ${namespaces.length} namespace${namespaces.length === 1 ? '' : 's'}.` }),
    namespaces.length === 0 ? null : el('div', { class: 'table-wrap' }, table({
      id: 'namespace-table',
      caption: 'Secure values and Sensu secrets per namespace',
      headers: ['Namespace', 'Secure values', 'Sensu secrets'],
      rows: namespaces.map((n) => [n.name, String(n.secure_values), String(n.sensu_secrets)]),
      rowProps: (cells, i) => ({ dataset: { namespace: namespaces[i].name } }),
    })));

  const { labels, decrypts, denials } = hourly(counts);
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  view.append(el('h2', { text: 'Decrypts and denials per hour' }),
    el('p', { id: 'overview-activity', text: `From ${counts.from} to ${counts.to}: ${sum(decrypts)} decrypts allowed, ${sum(denials)} requests denied.` }),
    barChart({
      id: 'activity-chart',
      title: 'Decrypts allowed and requests denied per hour (UTC)',
      labels,
      series: [
        { name: 'decrypts', className: 'series-decrypts', values: decrypts },
        { name: 'denials', className: 'series-denials', values: denials },
      ],
      tickEvery: Math.max(1, Math.ceil(labels.length / 12)),
    }));
}
