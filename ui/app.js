// ui/app.js — the view's entry point: the session, the hash routes and the
// frame around each page. Read this first; each page is one module:
//   signin.js    the sign-in form (Auditor and ServerAdmin users)
//   trail.js     the audit trail, filtered and paged
//   record.js    one record: seq, prev, hash, its checkpoint, the chain
//   verify.js    the server's verification, the key, the offline command
//   keys.js      KEKs, data keys, rotations
//   overview.js  secrets per namespace, decrypts and denials per hour
//                (drawn by chart.js)
// api.js is the only module that talks to the server; dom.js builds nodes
// from text only.
import { ApiError, getSession, setUnauthorizedHandler, signOut } from './api.js';
import { announce, el } from './dom.js';
import { renderKeys } from './keys.js';
import { renderOverview } from './overview.js';
import { renderRecord } from './record.js';
import { renderSignIn } from './signin.js';
import { renderTrail } from './trail.js';
import { renderVerify } from './verify.js';

const PAGES = {
  trail: { title: 'Audit trail', render: renderTrail },
  record: { title: 'Audit record', render: renderRecord },
  verify: { title: 'Verification', render: renderVerify },
  keys: { title: 'Keys', render: renderKeys },
  overview: { title: 'Overview', render: renderOverview },
};

const state = { session: null, notice: '' };

function main() { return document.getElementById('main'); }

// parseHash reads "#/page/arg?query" into its parts; null for a hash that
// is not a route (the skip link's "#main").
function parseHash(hash) {
  if (!hash.startsWith('#/')) return null;
  const [path, search = ''] = hash.slice(2).split('?');
  const [page, ...args] = path.split('/');
  return { page, args, params: new URLSearchParams(search) };
}

function showFrame(signedIn) {
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('account').hidden = !signedIn;
  const name = document.getElementById('account-name');
  name.textContent = signedIn
    ? `Signed in as ${state.session.user}${state.session.role ? ` (${state.session.role})` : ''}`
    : '';
  // A session made by a client certificate has no CSRF token and nothing
  // to sign out of.
  document.getElementById('sign-out').hidden = !(signedIn && state.session.csrf_token);
}

function markNav(page) {
  const current = page === 'record' ? 'trail' : page;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.getAttribute('href') === `#/${current}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// route shows the page the hash names, or the sign-in form.
function route() {
  const signedIn = Boolean(state.session && state.session.signed_in);
  showFrame(signedIn);
  const container = main();
  if (!signedIn) {
    document.title = 'Sign in · Strongroom audit view';
    markNav('');
    container.replaceChildren(renderSignIn({
      session: state.session || {},
      notice: state.notice,
      onSignedIn: (session) => {
        state.session = session;
        state.notice = '';
        if (!parseHash(location.hash)) location.hash = '#/trail';
        else route();
        container.focus();
      },
      onRefresh: async () => { await refreshSession(); return state.session || {}; },
    }));
    return;
  }
  let parsed = parseHash(location.hash);
  if (parsed === null) {
    if (location.hash) return;  // an in-page link such as the skip link
    parsed = { page: 'trail', args: [], params: new URLSearchParams() };
  }
  const page = PAGES[parsed.page] || PAGES.trail;
  const name = PAGES[parsed.page] ? parsed.page : 'trail';
  document.title = `${page.title} · Strongroom audit view`;
  markNav(name);
  // A fresh section per visit: a slow answer for a page left behind fills
  // a section that is no longer shown.
  const view = el('section', { id: 'view', 'aria-labelledby': 'view-title', dataset: { page: name, state: 'loading' } });
  container.replaceChildren(view);
  announce(`${page.title}, loading`);
  Promise.resolve(page.render(view, { args: parsed.args, params: parsed.params }))
    .then(() => { view.dataset.state = 'ready'; announce(`${page.title} loaded`); })
    .catch((error) => {
      view.dataset.state = 'error';
      if (error instanceof ApiError && error.status === 401) return;
      view.append(el('p', { class: 'error', role: 'alert', text: `Could not show this page: ${error.message}` }));
    });
}

async function refreshSession() {
  try {
    state.session = await getSession();
  } catch (error) {
    state.session = { signed_in: false };
    state.notice = error instanceof ApiError && error.status === 0
      ? 'The server cannot be reached.' : `The server answered ${error.status}.`;
  }
}

async function onSignOut() {
  const csrf = state.session && state.session.csrf_token;
  try {
    await signOut(csrf);
    state.notice = 'You are signed out.';
  } catch (error) {
    state.notice = `Signing out failed (${error.message}); the session ends by itself when idle.`;
  }
  await refreshSession();
  history.replaceState(null, '', '#/trail');
  route();
  main().focus();
}

async function start() {
  setUnauthorizedHandler(async () => {
    await refreshSession();
    if (!state.session.signed_in) {
      state.notice = 'Your session has ended; sign in again.';
      route();
    }
  });
  document.getElementById('sign-out').addEventListener('click', onSignOut);
  window.addEventListener('hashchange', () => { route(); main().focus(); });
  await refreshSession();
  route();
}

start();
