/* The installable app and Web Push, in the page: registers the service worker (sw.js) and the "Phone alerts"
 * panel that subscribes this browser (whether someone is looking, which holds pushes back: presence.js).
 *
 * Permission is asked only when the person clicks "Turn on", never on load. The subscription is stored on
 * the server with this browser's session (revoking the session drops it), with two choices: a delay (push
 * only if still unanswered after N seconds) and whether the tool and command may be shown (the push passes
 * through the browser vendor's push service).
 */

import { api } from './api.js';
import { copyCredential } from './credstore.js';
import { $ } from './dom.js';
import { sessionCredential } from './session.js';

const state = { registration: null, subscribed: false };

function supported() {
  return 'serviceWorker' in navigator && window.isSecureContext !== false;
}

function pushSupported() {
  return supported() && 'PushManager' in window && 'Notification' in window;
}

/** Register the service worker (offline shell, push); harmless where unsupported. */
export async function registerWorker() {
  if (!supported()) return;
  try {
    await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    state.registration = await navigator.serviceWorker.ready;
  } catch (_) { /* no worker: the page works as before, without offline shell or push */ }
  const credential = sessionCredential();
  if (credential) copyCredential(credential); // signed in before the worker existed
  await refreshPushState();
}

function base64UrlToBytes(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function refreshPushState() {
  const sub = state.registration && pushSupported()
    ? await state.registration.pushManager.getSubscription() : null;
  const res = sub ? await api('GET', '/api/push/subscription') : null;
  const mine = res && res.ok && res.data && Array.isArray(res.data.subscriptions)
    ? res.data.subscriptions.find((s) => s.endpoint === sub.endpoint) : null;
  state.subscribed = Boolean(mine);
  if (mine) {
    $('push-delay').value = String(mine.delay_seconds);
    $('push-content').checked = Boolean(mine.show_content);
  }
  renderPush();
}

function renderPush() {
  $('push-button').hidden = !pushSupported();
  $('push-button').setAttribute('aria-pressed', String(state.subscribed));
  $('push-state').textContent = state.subscribed
    ? 'This device gets a notification for each new request.'
    : 'This device gets no notifications.';
  $('push-on').textContent = state.subscribed ? 'Save' : 'Turn on';
  $('push-off').hidden = !state.subscribed;
}

function showPushError(text) {
  $('push-error').textContent = text;
  $('push-error').hidden = !text;
}

async function turnOn() {
  showPushError('');
  if (!state.registration) {
    showPushError('This browser could not start the service worker that notifications need.');
    return;
  }
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    showPushError('Notifications are blocked for this site: allow them in the browser settings.');
    return;
  }
  const key = await api('GET', '/api/push/key');
  if (!key.ok) {
    showPushError(key.message || 'piko server did not give its push key.');
    return;
  }
  let sub;
  try {
    sub = await state.registration.pushManager.getSubscription()
      || await state.registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key.data.public_key),
      });
  } catch (err) {
    showPushError(`The browser's push service refused: ${err && err.message}`);
    return;
  }
  const saved = await api('POST', '/api/push/subscription', {
    subscription: sub.toJSON(),
    delay_seconds: Number($('push-delay').value) || 0,
    show_content: $('push-content').checked,
  });
  if (!saved.ok) showPushError(saved.message || 'piko server did not keep the subscription.');
  await refreshPushState();
}

async function turnOff() {
  showPushError('');
  const sub = state.registration && await state.registration.pushManager.getSubscription();
  if (sub) { try { await sub.unsubscribe(); } catch (_) { /* gone already */ } }
  await api('DELETE', '/api/push/subscription');
  await refreshPushState();
}

export function bindPush() {
  const panel = $('push-panel');
  $('push-button').addEventListener('click', () => panel.showModal());
  $('push-close').addEventListener('click', () => panel.close());
  panel.addEventListener('click', (e) => { if (e.target === panel) panel.close(); });
  $('push-on').addEventListener('click', turnOn);
  $('push-off').addEventListener('click', turnOff);
  renderPush();
}
