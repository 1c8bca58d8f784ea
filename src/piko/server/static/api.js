/* The server's HTTP API, with this browser's session; failures as sentences for a person. */

import { isObject, sentence } from './marks.js';
import { forgetCredential, sessionCredential } from './session.js';
import { signedOut } from './state.js';

export const API = '/api/orchestra';

const ERROR_HINTS = {
  pane_gone: "The agent's tmux pane is gone, so nothing was typed. You can dismiss this request.",
  no_pane: 'Answer it in its terminal, then dismiss it here.',
  tmux_failed: 'tmux could not type the answer. Try again, or answer in the terminal.',
  already_resolved: 'Nothing was typed: it had already been answered.',
  not_found: 'piko server no longer knows this request.',
  too_large: 'The reply is too long.',
};

/** The API path of one request (the wire calls requests notifications). */
export function requestPath(id) {
  return `${API}/notifications/${encodeURIComponent(id)}`;
}

/** fetch() with the browser session (Authorization: Bearer, no cookie); never throws.
 * Returns {ok, status, data, network, message}. A 401 forgets the credential and signs the page out. */
export async function api(method, path, body) {
  const used = sessionCredential();
  const opts = { method, credentials: 'omit', cache: 'no-store', headers: { Accept: 'application/json' } };
  if (used) opts.headers.Authorization = `Bearer ${used}`;
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (err) {
    return { ok: false, status: 0, data: null, network: true, message: err && err.message };
  }
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (res.status === 401) {
    forgetCredential(used);
    signedOut();
  }
  return { ok: res.ok, status: res.status, data, network: false };
}

/** {text, code}: a sentence for a person from a failed api() result, and the server's error code. */
export function describeFailure(result) {
  if (result.network) {
    return { text: `Could not reach piko server${result.message ? ` (${result.message})` : ''}. The request is still pending.`, code: 'network' };
  }
  const data = isObject(result.data) ? result.data : {};
  const code = typeof data.code === 'string' ? data.code : `http_${result.status}`;
  let text = typeof data.error === 'string' && data.error.trim() ? sentence(data.error) : `piko server answered ${result.status}.`;
  const hint = ERROR_HINTS[code];
  if (hint && !text.includes(hint)) text = `${text} ${hint}`;
  if (code === 'unauthorized') text = `${text} This browser is not signed in: see the help at the top of the page.`;
  return { text, code };
}
