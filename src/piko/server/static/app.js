/* Piko Orchestra web UI: one live inbox for every Claude Code agent waiting on you.
 *
 * Plain ES modules, no dependencies, no build step; this one wires them together and starts the page.
 *   connection.js   WebSocket with the browser session, reconnects, sign-out   (session.js, api.js)
 *   state.js        the pending requests, changed by the server's messages        (prefs.js)
 *   header.js, inbox.js                     the page and its cards
 *   toasts.js, notifications.js             a new request: toast, desktop notification when hidden
 *   push.js         service worker (sw.js: offline shell, Web Push), presence, the "Phone alerts" panel
 *   modal.js        the response modal; per kind: permission.js, question.js, idle.js, notice.js, elicit.js
 *                   (choices.js, tooldetails.js), its terminal: preview.js
 *   keyboard.js     shortcuts and help
 *   fleet.js        the fleet view: every agent (fleetstate.js, fleetcard.js, fleettime.js); one agent's
 *                   panel with its terminal, instruction box and timeline: fleetpanel.js
 *   dom.js, marks.js, labels.js, time.js    shared helpers
 */

import { probeSocket, connect, reconnectIfClosed, reconnectNow, sendPresence, signOut } from './connection.js';
import { bindDevices } from './devices.js';
import { $ } from './dom.js';
import { bindFleet, renderFleet } from './fleet.js';
import { bindSessionPanel, onVisible, renderSession } from './fleetpanel.js';
import { startTicking } from './fleettime.js';
import { renderConn, renderHeader, showLoginOrigin } from './header.js';
import { refreshLongWaits, renderList } from './inbox.js';
import { onKeyDown, openHelp } from './keyboard.js';
import {
  closeModal, dismissRequest, openModal, openNext, recordChanged, recordRemoved, renderModalFooterState,
  sendText, showModalError, snapshotArrived, submitAnswers,
} from './modal.js';
import { closeDesktopNote, desktopNotify, enableNotifications, renderNotifyButton } from './notifications.js';
import { watchPresence } from './presence.js';
import { pollPreview } from './preview.js';
import { bindPush, registerWorker } from './push.js';
import { SESSION_KEY } from './session.js';
import { listen, state, toggleGroup, toggleSort } from './state.js';
import { refreshAgeLabels } from './time.js';
import { MAX_TOASTS, removeToastOf, showToast } from './toasts.js';

const AGE_REFRESH_MS = 5000;

function render() {
  renderHeader();
  renderNotifyButton();
  renderConn();
  renderList();
  renderModalFooterState();
  renderFleet();
  renderSession();
}

function announce(n) {
  showToast(n, '', openModal);
  desktopNotify(n, openModal);
}

/** Requests that arrived while disconnected: one toast each, or one for all. */
function announceMissed(list) {
  if (list.length <= MAX_TOASTS) {
    list.forEach(announce);
    return;
  }
  showToast(null, `${list.length} new requests arrived while disconnected`, openModal);
  for (const n of list) desktopNotify(n, openModal);
}

function refreshAges() {
  refreshAgeLabels();
  refreshLongWaits();
}

function listenToState() {
  listen('render', render);
  listen('arrived', announce);
  listen('missed', announceMissed);
  listen('left', (id) => {
    removeToastOf(id);
    closeDesktopNote(id);
  });
  listen('record', recordChanged);
  listen('removed', recordRemoved);
  listen('snapshot', snapshotArrived);
  listen('signedout', closeModal);
}

function bindEvents() {
  $('requests').addEventListener('click', (e) => {
    const card = e.target instanceof Element ? e.target.closest('.request-card') : null;
    if (card) openModal(card.dataset.id);
  });

  const dialog = $('modal');
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    closeModal();
  });
  // 'close' is queued: by the time it fires another request may already be open in the same dialog.
  dialog.addEventListener('close', () => { if (state.modal && !dialog.open) closeModal(); });
  // A click on the backdrop (outside the panel) closes, like Esc.
  dialog.addEventListener('click', (e) => { if (e.target === dialog) closeModal(); });
  $('modal-close').addEventListener('click', closeModal);
  $('send').addEventListener('click', sendText);
  $('dismiss').addEventListener('click', dismissRequest);
  $('submit-answers').addEventListener('click', submitAnswers);
  $('open-next').addEventListener('click', openNext);
  $('response-text').addEventListener('input', () => {
    if (state.modal && $('modal-error').dataset.code === '') showModalError(null);
  });

  const help = $('help');
  $('help-button').addEventListener('click', openHelp);
  $('help-close').addEventListener('click', () => help.close());
  help.addEventListener('click', (e) => { if (e.target === help) help.close(); });

  $('sort-toggle').addEventListener('click', toggleSort);
  $('group-toggle').addEventListener('click', toggleGroup);
  $('enable-notifications').addEventListener('click', enableNotifications);
  $('sign-out').addEventListener('click', signOut);
  bindDevices();
  // Another tab of this origin signed in: connect with its session now.
  window.addEventListener('storage', (e) => { if (e.key === SESSION_KEY && e.newValue) reconnectNow(); });

  document.addEventListener('keydown', onKeyDown);
  watchPresence(sendPresence);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    reconnectNow();
    refreshAges();
    if (state.modal && !state.modal.gone) pollPreview(state.modal);
    onVisible();
  });
  window.addEventListener('online', reconnectNow);
  window.addEventListener('offline', probeSocket);
  window.addEventListener('pageshow', (e) => { if (e.persisted) reconnectNow(); });
  window.addEventListener('focus', reconnectIfClosed);
}

// A module runs once the document is parsed (like a deferred script).
showLoginOrigin();
listenToState();
bindEvents();
bindPush();
bindFleet();
bindSessionPanel();
render();
startTicking();
setInterval(refreshAges, AGE_REFRESH_MS);
connect();
registerWorker();
