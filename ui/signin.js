// ui/signin.js — the sign-in form: user name and password, posted once to
// POST /api/ui/session with the form's CSRF token (from GET
// /api/ui/session). Only Auditor and ServerAdmin users may sign in; the
// server refuses others with 403, a wrong name or password with 401, and
// throttles with 429. The password field is emptied after every attempt.
import { ApiError, signIn } from './api.js';
import { el } from './dom.js';

function refusal(error) {
  if (!(error instanceof ApiError)) return `Sign-in failed: ${error.message}`;
  switch (error.status) {
    case 0: return error.message;
    case 400: return `Sign-in refused: ${error.message}`;
    case 401: return 'Wrong user name or password.';
    case 403: return 'Sign-in refused: only Auditor and ServerAdmin users may use this view.'
      + (error.message ? ` (${error.message})` : '');
    case 429: return `Too many attempts; try again in ${error.retryAfter || 'a few'} seconds.`;
    default: return `Sign-in failed: the server answered ${error.status}.`;
  }
}

// renderSignIn returns the sign-in page. `onSignedIn(session)` runs after
// a successful sign-in; `onRefresh()` fetches a new session state (a new
// CSRF token) after a failed one.
export function renderSignIn({ session, notice, onSignedIn, onRefresh }) {
  let csrf = session.csrf_token || '';
  const user = el('input', { id: 'signin-user', name: 'user', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = el('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = el('p', { id: 'signin-error', class: 'error', role: 'alert' });
  const submit = el('button', { id: 'signin-submit', type: 'submit', text: 'Sign in' });
  const form = el('form', { id: 'signin-form', class: 'signin', 'aria-describedby': 'signin-help' },
    el('div', { class: 'field' }, el('label', { for: 'signin-user', text: 'User name' }), user),
    el('div', { class: 'field' }, el('label', { for: 'signin-password', text: 'Password' }), password),
    submit, error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    const typed = password.value;
    password.value = '';
    try {
      const signedIn = await signIn(user.value, typed, csrf);
      onSignedIn(signedIn);
    } catch (failure) {
      error.textContent = refusal(failure);
      const fresh = await onRefresh();
      csrf = fresh.csrf_token || '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  return el('section', { id: 'view', 'aria-labelledby': 'view-title', dataset: { page: 'signin', state: 'ready' } },
    el('h1', { id: 'view-title', text: 'Sign in' }),
    el('p', { id: 'signin-help', text: 'For auditors and server administrators. Your session ends after 15 idle minutes, or when you sign out.' }),
    notice ? el('p', { class: 'notice', role: 'status', text: notice }) : null,
    form);
}
