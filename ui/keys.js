// ui/keys.js — the key inventory (#/keys) from GET
// /api/admin/encryption/keys: KEKs (id, current, in the token, created),
// data keys per namespace and day (active or retired, the KEK that wraps
// each, its reserved counter), and the last rotations and re-encryptions
// with who ran them. No key material is ever sent: ids and states only.
import { errorText, getJson } from './api.js';
import { el, table } from './dom.js';

const yesNo = (value) => (value ? 'yes' : 'no');

export async function renderKeys(view) {
  view.append(el('h1', { id: 'view-title', text: 'Keys' }));
  let inventory;
  try {
    inventory = await getJson('/api/admin/encryption/keys');
  } catch (error) {
    view.append(el('p', { class: 'error', role: 'alert', text: errorText(error) }));
    throw error;
  }
  const keks = inventory.keks || [];
  view.append(el('h2', { text: 'Key-encryption keys (in the token)' }),
    keks.length === 0 ? el('p', { text: 'No KEK.' }) : el('div', { class: 'table-wrap' }, table({
      id: 'kek-table',
      caption: 'KEKs: the current one wraps new data keys; older ones stay for the keys they wrap',
      headers: ['Id', 'Current', 'In token', 'Created (UTC)'],
      rows: keks.map((k) => [el('span', { class: 'mono', text: k.id }), yesNo(k.current), yesNo(k.in_token), k.created || '']),
      rowProps: (cells, i) => ({ class: keks[i].in_token ? '' : 'warning' }),
    })));

  const dataKeys = [...(inventory.data_keys || [])].sort((a, b) =>
    a.namespace === b.namespace ? String(b.day).localeCompare(String(a.day)) : String(a.namespace).localeCompare(String(b.namespace)));
  view.append(el('h2', { text: 'Data keys (per namespace and day)' }),
    dataKeys.length === 0 ? el('p', { text: 'No data key yet: one is made at the first encryption in a namespace each day.' })
      : el('div', { class: 'table-wrap' }, table({
        id: 'data-key-table',
        caption: 'Data keys, newest day first within each namespace',
        headers: ['Namespace', 'Day', 'Id', 'State', 'Wrapped by KEK', 'Reserved counter'],
        rows: dataKeys.map((d) => [d.namespace, d.day, el('span', { class: 'mono', text: d.id }),
          el('span', { class: `badge state-${d.state}`, text: d.state }), el('span', { class: 'mono', text: d.kek }), String(d.reserved_counter)]),
      })));

  const rotations = [...(inventory.rotations || [])].sort((a, b) => String(b.time).localeCompare(String(a.time)));
  view.append(el('h2', { text: 'Last rotations and re-encryptions' }),
    rotations.length === 0 ? el('p', { id: 'rotation-none', text: 'None recorded.' })
      : el('div', { class: 'table-wrap' }, table({
        id: 'rotation-table',
        caption: 'From the audit log, newest first',
        headers: ['Time (UTC)', 'Action', 'Who', 'Outcome'],
        rows: rotations.map((r) => [r.time, r.action, r.actor, el('span', { class: `badge outcome-${r.outcome}`, text: r.outcome })]),
      })));
}
