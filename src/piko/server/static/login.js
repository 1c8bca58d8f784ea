/* Piko Orchestra sign-in: trade the one-time code of a login link (/login#code=...) for a browser session.
 *
 * The code is in the URL fragment, which the browser never sends to a server nor puts in a Referer; it is
 * taken out of the address bar and history at once. The session credential is kept as session.js says.
 */

import { sessionCredential, storeCredential } from './session.js';

const show = (id, text) => {
  const node = document.getElementById(id);
  if (text !== undefined) node.textContent = text;
  node.hidden = false;
};

async function redeem(code) {
  show('login-working');
  document.getElementById('login-steps').hidden = true;
  let res;
  try {
    res = await fetch('/api/auth/login', {
      method: 'POST',
      cache: 'no-store',
      credentials: 'omit',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ code }),
    });
  } catch (err) {
    document.getElementById('login-working').hidden = true;
    show('login-error', `Could not reach piko server (${err && err.message}). Is it running?`);
    return;
  }
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  document.getElementById('login-working').hidden = true;
  if (res.ok && data && typeof data.session === 'string') {
    if (!storeCredential(data.session)) {
      show('login-error', 'This browser does not let this page keep its session (site storage is blocked): allow it for this address and open a new link.');
      return;
    }
    window.location.replace('/');
    return;
  }
  if (res.status === 401) {
    show('login-gone');
  } else {
    show('login-error', (data && data.error) ? `piko server refused: ${data.error}` : `piko server answered ${res.status}.`);
  }
  document.getElementById('login-steps').hidden = false;
}

/** Act on the fragment; also when a link is opened in a tab already on /login (no page load then). */
function takeFragment() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  for (const id of ['login-working', 'login-gone', 'login-signed-out', 'login-error']) {
    document.getElementById(id).hidden = true;
  }
  // Out of the address bar and the history entry before anything else happens.
  if (window.location.hash) window.history.replaceState(null, '', '/login');
  const code = params.get('code');
  if (code) {
    redeem(code);
  } else if (params.has('signed-out')) {
    show('login-signed-out');
  } else if (sessionCredential()) {
    window.location.replace('/'); // signed in already; the inbox checks the session and says if it ended
  }
}

// A module runs once the document is parsed (like a deferred script).
window.addEventListener('hashchange', takeFragment);
takeFragment();
for (const node of document.querySelectorAll('.login-url')) {
  node.textContent = `${window.location.origin}/login#code=…`;
}
