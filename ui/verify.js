// ui/verify.js — verification (#/verify): the server's check of the whole
// chain (GET /api/audit/verify), its head, the last signed checkpoint, the
// audit signing key's fingerprint and the public key to download, and the
// exact `strongroom audit verify` command that checks the same log offline
// with that key, without trusting this server.
import { errorText, getJson, getText, query } from './api.js';
import { code, definitions, el } from './dom.js';

const KEY_FILE = 'strongroom-audit-key.pem';
const DEFAULT_LOG = '/var/lib/strongroom/audit';

async function lastCheckpoint() {
  const page = await getJson(query('/api/audit/events', { order: 'newest', limit: 1000 }));
  return (page.records || []).find((r) => r.type === 'checkpoint') || null;
}

export async function renderVerify(view) {
  view.append(el('h1', { id: 'view-title', text: 'Verification' }));
  let verdict;
  let key;
  let checkpoint;
  try {
    verdict = await getJson('/api/audit/verify');
    key = await getText('/api/audit/public-key');
    checkpoint = await lastCheckpoint();
  } catch (error) {
    view.append(el('p', { class: 'error', role: 'alert', text: errorText(error) }));
    throw error;
  }
  const head = verdict.head || {};
  const headText = `${head.seq}:${head.hash}`;
  view.append(el('h2', { text: 'The server’s verification' }),
    el('p', { class: verdict.ok ? 'verdict ok' : 'verdict error' },
      el('strong', { id: 'verify-status', text: verdict.ok ? 'verified' : 'NOT verified' }),
      ` — ${verdict.summary || ''}`));
  const facts = [
    ['Records', `${verdict.records} (seq ${verdict.firstSeq} to ${verdict.lastSeq}, ${verdict.from || '?'} to ${verdict.to || '?'})`],
    ['Signed checkpoints', String(verdict.checkpoints)],
    ['Pending (after the last checkpoint)', String(verdict.pending)],
    ['Head (seq:hash)', el('span', { id: 'verify-head', class: 'mono', text: headText })],
  ];
  if (verdict.problem) {
    const p = verdict.problem;
    facts.push(['Problem', `record ${p.seq} (${p.file} line ${p.line}): ${p.what}`]);
  }
  view.append(definitions(facts));

  view.append(el('h2', { text: 'Last signed checkpoint' }));
  if (checkpoint) {
    const c = checkpoint.checkpoint || {};
    view.append(definitions([
      ['Checkpoint', el('a', { id: 'verify-last-checkpoint', href: `#/record/${Number(checkpoint.seq)}`, text: `record ${checkpoint.seq}` })],
      ['Signed at (UTC)', checkpoint.time || ''],
      ['Seals the head', [`${c.head_seq}:`, code(c.head_hash)]],
    ]));
  } else {
    view.append(el('p', { id: 'verify-last-checkpoint', text: 'No checkpoint among the last 1,000 records.' }));
  }

  const fingerprint = key.headers.get('X-Strongroom-Key-Sha256') || '';
  view.append(el('h2', { text: 'Audit signing key' }),
    definitions([
      ['SHA-256 fingerprint', el('span', { id: 'verify-key-sha256', class: 'mono', text: fingerprint })],
      ['Matches the key the server verified with', fingerprint && fingerprint === verdict.keySha256 ? 'yes' : 'NO'],
    ]),
    el('p', { text: 'Compare the fingerprint with the one `strongroom init` printed when the appliance was set up (pinned out of band): do not trust this page for it.' }),
    el('p', {}, el('a', { id: 'verify-key-download', class: 'button', href: '/api/audit/public-key', download: KEY_FILE, text: `Download the public key (${KEY_FILE})` })),
    el('details', {}, el('summary', { text: 'Show the public key (PEM)' }), el('pre', { class: 'mono', text: key.text })));

  const command = `strongroom audit verify --log ${DEFAULT_LOG} --public-key ${KEY_FILE} --expect-head ${headText}`;
  view.append(el('h2', { text: 'Verify it yourself, offline' }),
    el('p', { text: `Copy the log directory (${DEFAULT_LOG} on the appliance) and the key, then run, with no token and no server:` }),
    el('pre', { class: 'command' }, el('code', { id: 'verify-command', text: command })),
    el('p', { text: '--expect-head makes it fail if the log was cut before the head shown here; add --require-sealed to fail on records after the last signed checkpoint.' }));
}
