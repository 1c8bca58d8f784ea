/* This browser's session with piko server: the credential a one-time login link was traded for.
 *
 * It is kept in localStorage, which only pages of this exact origin (scheme, host and port) can read, and
 * sent as Authorization: Bearer (fetch) or as a WebSocket subprotocol; never as a cookie. A copy goes to
 * IndexedDB (credstore.js) for the service worker, which answers notification actions with it.
 */

import { copyCredential, dropCredential } from './credstore.js';

export const SESSION_KEY = 'piko.orchestra.session';

/** The stored credential ('' when there is none or storage is blocked). */
export function sessionCredential() {
  try { return window.localStorage.getItem(SESSION_KEY) || ''; } catch (_) { return ''; }
}

/** Keep `session`; false when this browser does not let the page store anything. */
export function storeCredential(session) {
  try {
    window.localStorage.setItem(SESSION_KEY, session);
    copyCredential(session);
    return true;
  } catch (_) {
    return false;
  }
}

/** The server refused `used`: forget it, unless another tab has meanwhile stored a newer one. */
export function forgetCredential(used) {
  try {
    if (window.localStorage.getItem(SESSION_KEY) === used) window.localStorage.removeItem(SESSION_KEY);
  } catch (_) { /* storage unavailable */ }
  dropCredential(used);
}
