// ui/api.js — the view's only way to the server: the read APIs, with the
// browser's session cookie (HttpOnly: the page never sees it), and the
// session endpoints. Every call is same-origin (the policy's connect-src
// 'self'); errors become ApiError with the status and the server's message.

// ApiError is a refused or failed call.
export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

let onUnauthorized = () => {};
// setUnauthorizedHandler names what to do when a data call answers 401
// (the session expired or was revoked).
export function setUnauthorizedHandler(handler) { onUnauthorized = handler; }

async function call(method, path, { body, csrf } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'The server cannot be reached.');
  }
  if (!response.ok) {
    let message = '';
    try { message = (await response.json()).message || ''; } catch (e) { /* not JSON */ }
    const error = new ApiError(response.status, message, response.headers.get('Retry-After'));
    throw error;
  }
  return response;
}

async function read(path) {
  try {
    return await call('GET', path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) onUnauthorized();
    throw e;
  }
}

// getJson reads a JSON API.
export async function getJson(path) { return (await read(path)).json(); }

// getText reads an API as text, with its headers (a PEM key; audit
// records whose exact bytes matter).
export async function getText(path) {
  const response = await read(path);
  return { text: await response.text(), headers: response.headers };
}

// query builds "path?name=value&..." from the set values of `params`.
export function query(path, params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

// The session (GET, POST, DELETE /api/ui/session).
export async function getSession() { return (await call('GET', '/api/ui/session')).json(); }
export async function signIn(user, password, csrf) {
  return (await call('POST', '/api/ui/session', { body: { user, password }, csrf })).json();
}
export async function signOut(csrf) { await call('DELETE', '/api/ui/session', { csrf }); }

// errorText is a short sentence for a failed read.
export function errorText(error) {
  if (!(error instanceof ApiError)) return `Something went wrong: ${error.message}`;
  if (error.status === 0) return error.message;
  if (error.status === 403) return 'Your account may not read this (it needs audit or inventory read permission).';
  if (error.status === 429) return `Too many requests; try again in ${error.retryAfter || 'a few'} seconds.`;
  if (error.status === 503) return 'The server is unavailable right now (its audit log or token may be down); try again shortly.';
  return `The server answered ${error.status}: ${error.message}`;
}
