// ui/record.js — one audit record (#/record/SEQ): its fields, its prev and
// hash, the hash recomputed in this browser from the record's exact bytes
// (SPEC 8: hash = SHA-256(prev ‖ the line before ,"hash":)), the signed
// checkpoint that covers it, and the server's verification of the chain.
import { errorText, getJson, getText, query } from './api.js';
import { code, definitions, el } from './dom.js';
import { outcomeBadge } from './trail.js';

// A checkpoint follows at most 1,000 records (SPEC 8); three pages of
// 1,000 look far enough.
const CHECKPOINT_PAGES = 3;

// recordLine returns the one record line of a GET /api/audit/events body
// asked with limit=1, exactly as written in the log (the API embeds
// records byte for byte), or null. After the records come the answering
// node's name (issue 18; "" without one) and the page's continue.
function recordLine(body) {
  const prefix = '{"records":[';
  if (!body.startsWith(prefix)) return null;
  const end = /\](,"node":"[a-z0-9-]*")?(,"continue":"\d+")?\}$/.exec(body);
  if (!end) return null;
  const line = body.slice(prefix.length, end.index);
  return line.length > 0 ? line : null;
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

// recomputeHash returns whether SHA-256(prev ‖ body) is the line's hash.
async function recomputeHash(line, record) {
  const cut = line.lastIndexOf(',"hash":');
  if (cut < 0 || !crypto.subtle) return null;
  const bytes = new TextEncoder().encode(record.prev + line.slice(0, cut));
  return hex(await crypto.subtle.digest('SHA-256', bytes)) === record.hash;
}

async function coveringCheckpoint(seq) {
  let after = seq;
  for (let i = 0; i < CHECKPOINT_PAGES; i++) {
    const page = await getJson(query('/api/audit/events', { continue: after, limit: 1000, order: 'oldest' }));
    for (const r of page.records || []) {
      if (r.type === 'checkpoint' && r.checkpoint && Number(r.checkpoint.head_seq) >= seq) return r;
    }
    if (!page.continue) return null;
    after = page.continue;
  }
  return null;
}

function actorText(actor) {
  if (!actor) return '—';
  const parts = [`${actor.kind || '?'} ${actor.name || ''}`.trim()];
  if (actor.address) parts.push(`from ${actor.address}`);
  if (actor.token_id) parts.push(`token ${actor.token_id}`);
  if (actor.certificate_sha256) parts.push(`certificate SHA-256 ${actor.certificate_sha256}`);
  return parts.join(', ');
}

function recordFacts(record) {
  const pairs = [
    ['Seq', String(record.seq)],
    ['Time (UTC)', record.time || ''],
    ['Type', record.type || ''],
  ];
  if (record.action) pairs.push(['Action', record.action]);
  if (record.actor) pairs.push(['Actor', actorText(record.actor)]);
  if (record.resource) pairs.push(['Resource', [record.resource.namespace, record.resource.kind, record.resource.name].filter(Boolean).join(' / ')]);
  if (record.outcome) pairs.push(['Outcome', [outcomeBadge(record.outcome), record.outcome.reason ? ` reason: ${record.outcome.reason}` : '']]);
  if (record.request_id) pairs.push(['Request id', code(record.request_id)]);
  if (record.resource_version !== undefined) pairs.push(['Resource version', String(record.resource_version)]);
  if (record.count) pairs.push(['Count (coalesced)', String(record.count)]);
  if (record.refers_to !== undefined) pairs.push(['Refers to', String(record.refers_to)]);
  if (record.details) pairs.push(['Details', Object.entries(record.details).map(([k, v]) => `${k}: ${v}`).join('; ')]);
  pairs.push(['Prev (hash of record ' + (Number(record.seq) - 1) + ')', code(record.prev)]);
  pairs.push(['Hash', code(record.hash)]);
  return pairs;
}

function checkpointFacts(checkpoint) {
  const c = checkpoint.checkpoint || {};
  return [
    ['Checkpoint seq', el('a', { href: `#/record/${Number(checkpoint.seq)}`, text: String(checkpoint.seq) })],
    ['Signed at (UTC)', checkpoint.time || ''],
    ['Head it seals', [`${c.head_seq}:`, code(c.head_hash)]],
    ['Store resource version', String(c.resource_version ?? '')],
    ['Signing key SHA-256', code(c.key_sha256)],
    ['Signature (ECDSA P-256, r‖s, base64)', code(c.signature)],
  ];
}

export async function renderRecord(view, { args }) {
  const seq = Number.parseInt(args[0], 10);
  view.append(el('h1', { id: 'view-title', text: Number.isSafeInteger(seq) ? `Audit record ${seq}` : 'Audit record' }),
    el('p', {}, el('a', { href: '#/trail', text: '← Back to the trail' })));
  if (!Number.isSafeInteger(seq) || seq < 1) {
    view.append(el('p', { class: 'error', role: 'alert', text: 'No such record number.' }));
    return;
  }
  let line;
  let record;
  try {
    const { text } = await getText(query('/api/audit/events', { continue: seq - 1, limit: 1, order: 'oldest' }));
    line = recordLine(text);
    record = line ? JSON.parse(line) : null;
  } catch (error) {
    view.append(el('p', { class: 'error', role: 'alert', text: errorText(error) }));
    throw error;
  }
  if (!record || Number(record.seq) !== seq) {
    view.append(el('p', { class: 'error', role: 'alert', text: `There is no record ${seq} in the log.` }));
    return;
  }
  view.append(el('h2', { text: 'The record' }), definitions(recordFacts(record)));

  const matches = await recomputeHash(line, record);
  view.append(el('p', { id: 'record-hash-check', class: matches ? 'ok' : 'error', text: matches === null
    ? 'This browser cannot compute SHA-256 here.'
    : matches ? 'Hash recomputed in this browser from the record’s exact bytes: it matches.'
      : 'Hash recomputed in this browser from the record’s exact bytes: it does NOT match.' }));

  view.append(el('h2', { text: 'The checkpoint that covers it' }));
  const checkpointBox = el('div', { id: 'record-checkpoint' });
  view.append(checkpointBox);
  const checkpoint = await coveringCheckpoint(seq);
  if (checkpoint) {
    checkpointBox.append(definitions(checkpointFacts(checkpoint)));
    checkpointBox.dataset.seq = String(checkpoint.seq);
  } else {
    checkpointBox.append(el('p', { text: 'Not sealed yet: no signed checkpoint follows this record so far (pending). Checkpoints are written at least every second of activity.' }));
  }

  view.append(el('h2', { text: 'The chain, verified by the server' }));
  const verdict = await getJson('/api/audit/verify');
  const head = verdict.head || {};
  view.append(definitions([
    ['Result', el('strong', { id: 'record-verify-status', class: verdict.ok ? 'ok' : 'error', text: verdict.ok ? 'verified' : 'NOT verified' })],
    ['Summary', verdict.summary || ''],
    ['Head (seq:hash)', el('span', { id: 'record-verify-head', class: 'mono', text: `${head.seq}:${head.hash}` })],
    ['This record', Number(head.seq) >= seq
      ? `is inside the verified chain (records ${verdict.firstSeq} to ${verdict.lastSeq}).`
      : 'is after the verified head.'],
  ]));
}
