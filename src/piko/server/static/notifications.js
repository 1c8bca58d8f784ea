/* Desktop notifications: one per new request while the tab is hidden (the person is looking elsewhere);
 * while it is visible a toast is enough. */

import { $ } from './dom.js';
import { kindLabel, projectLabel, summaryOf, toolLabel } from './labels.js';

const desktopNotes = new Map(); // request id -> Notification

/** Touch-only devices (phones) mostly cannot show page notifications without a service worker. */
function notificationsSupported() {
  if (!('Notification' in window) || window.isSecureContext === false) return false;
  const touchOnly = window.matchMedia && window.matchMedia('(hover: none) and (pointer: coarse)').matches;
  return !touchOnly;
}

/** A desktop notification for request `n` if the tab is hidden; clicking it runs `open(id)`. */
export function desktopNotify(n, open) {
  if (!notificationsSupported() || Notification.permission !== 'granted' || !document.hidden) return;
  try {
    const note = new Notification(`${kindLabel(n)} · ${projectLabel(n)}`, {
      body: [toolLabel(n), summaryOf(n)].filter(Boolean).join(': '),
      tag: `piko-${n.id}`,
    });
    note.onclick = () => {
      window.focus();
      open(n.id);
      note.close();
    };
    desktopNotes.set(n.id, note);
  } catch (_) {
    // Some mobile browsers only allow notifications from a service worker: the toast and title still show.
  }
}

/** The request left the inbox: its desktop notification goes too. */
export function closeDesktopNote(id) {
  const note = desktopNotes.get(id);
  if (!note) return;
  try { note.close(); } catch (_) { /* already gone */ }
  desktopNotes.delete(id);
}

/** The "Enable desktop notifications" button shows while the browser has not been asked yet. */
export function renderNotifyButton() {
  $('enable-notifications').hidden = !(notificationsSupported() && Notification.permission === 'default');
}

export async function enableNotifications() {
  if (!notificationsSupported()) return;
  try {
    const maybe = Notification.requestPermission(() => renderNotifyButton());
    if (maybe && typeof maybe.then === 'function') await maybe;
  } catch (_) { /* the browser said no */ }
  renderNotifyButton();
}
