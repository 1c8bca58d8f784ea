/* The live connection to piko server: one WebSocket opened with this browser's session, kept alive with
 * pings, reconnected with backoff, checked at once when the tab or the network comes back; and signing out.
 *
 * Each (re)connect starts with a snapshot of every pending request; created / updated / resolved /
 * dismissed messages follow. A close with 4401 (or a 401 from the API) means the session is not valid:
 * it is forgotten and the page shows the login help, retrying in case another tab signs in.
 */

import { api } from './api.js';
import { applySessions, upsertSession } from './fleetstate.js';
import { isObject } from './marks.js';
import { presenceMessage } from './presence.js';
import { forgetCredential, sessionCredential } from './session.js';
import { applySnapshot, removeRequest, setConn, signedOut, state, upsertRequest } from './state.js';

const WS_PATH = '/api/orchestra/ws';
const BACKOFF_START_MS = 250;
const BACKOFF_CAP_MS = 5000;
const OFFLINE_AFTER_FAILURES = 3;
const PING_EVERY_MS = 20000;
const STALE_AFTER_MS = 2 * PING_EVERY_MS + 5000; // no message (not even a pong) for this long: the socket is dead
const PROBE_TIMEOUT_MS = 4000;                   // after waking up: a pong must come back within this

const socket = {
  ws: null,
  generation: 0,           // events of older sockets are ignored
  failures: 0,             // consecutive attempts that ended without a snapshot
  retryTimer: null,
  pingTimer: null,
  probeTimer: null,
  lastMessageAt: 0,
  credential: '',          // what the current socket was opened with
};

function wsUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}${WS_PATH}`;
}

export function connect() {
  clearTimeout(socket.retryTimer);
  socket.retryTimer = null;
  dropSocket();
  const generation = ++socket.generation;
  const used = sessionCredential();
  socket.credential = used;
  if (!used) {
    onSocketClosed(generation, 4401); // nothing to connect with; retried in case another tab signs in
    return;
  }
  let ws;
  try {
    // A browser cannot set headers on a WebSocket: the credential goes as a second subprotocol.
    ws = new WebSocket(wsUrl(), ['piko.v1', `piko.bearer.${used}`]);
  } catch (_) {
    onSocketClosed(generation, 0);
    return;
  }
  socket.ws = ws;
  ws.onopen = () => {
    if (generation !== socket.generation) return;
    socket.lastMessageAt = Date.now();
    startPing();
    sendPresence();
  };
  ws.onmessage = (ev) => {
    if (generation !== socket.generation) return;
    socket.lastMessageAt = Date.now();
    handleMessage(ev.data);
  };
  ws.onclose = (ev) => onSocketClosed(generation, ev.code);
  ws.onerror = () => { /* a close event follows */ };
}

/** Forget the current socket (its later events are ignored) and close it. */
function dropSocket() {
  const ws = socket.ws;
  socket.ws = null;
  socket.generation += 1;
  stopPing();
  if (ws && ws.readyState <= WebSocket.OPEN) {
    try { ws.close(1000, 'reconnecting'); } catch (_) { /* already closing */ }
  }
}

function onSocketClosed(generation, code) {
  if (generation !== socket.generation) return;
  socket.ws = null;
  stopPing();
  socket.failures += 1;
  if (code === 4401) {
    if (socket.credential) forgetCredential(socket.credential);
    signedOut();
  }
  // navigator.onLine is not used: piko server is usually on loopback, reachable with the network down.
  const offline = state.authFailed || socket.failures >= OFFLINE_AFTER_FAILURES;
  setConn(offline ? 'offline' : 'reconnecting');
  scheduleReconnect();
}

function backoffDelay(failures) {
  if (state.authFailed) return BACKOFF_CAP_MS;
  const base = Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** Math.max(0, failures - 1));
  const jittered = base * (0.75 + Math.random() * 0.5);
  return Math.round(Math.min(BACKOFF_CAP_MS, jittered));
}

function scheduleReconnect() {
  clearTimeout(socket.retryTimer);
  socket.retryTimer = setTimeout(connect, backoffDelay(socket.failures));
}

/** Tab visible again, network back, page restored, another tab signed in: check the socket now. */
export function reconnectNow() {
  const ws = socket.ws;
  if (ws && ws.readyState === WebSocket.CONNECTING) return;
  if (ws && ws.readyState === WebSocket.OPEN) {
    probeSocket();
    return;
  }
  connect();
}

/** No socket at all (it closed and waits for its retry): try now. */
export function reconnectIfClosed() {
  if (!socket.ws) reconnectNow();
}

/** Send a ping; if nothing comes back soon the socket is half-open (after sleep): reconnect. */
export function probeSocket() {
  const ws = socket.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN || socket.probeTimer) return;
  const sentAt = Date.now();
  sendPing();
  socket.probeTimer = setTimeout(() => {
    socket.probeTimer = null;
    if (socket.ws === ws && socket.lastMessageAt < sentAt) forceReconnect();
  }, PROBE_TIMEOUT_MS);
}

function forceReconnect() {
  dropSocket();
  socket.failures += 1;
  setConn(socket.failures >= OFFLINE_AFTER_FAILURES ? 'offline' : 'reconnecting');
  connect();
}

/** Tell the server whether someone is looking at this inbox (presence.js: it holds back Web Push then). */
export function sendPresence() {
  const ws = socket.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  try { ws.send(presenceMessage()); } catch (_) { /* close event follows */ }
}

function sendPing() {
  const ws = socket.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  try { ws.send(JSON.stringify({ type: 'ping' })); } catch (_) { /* close event follows */ }
}

function startPing() {
  stopPing();
  socket.pingTimer = setInterval(() => {
    if (Date.now() - socket.lastMessageAt > STALE_AFTER_MS) {
      forceReconnect();
      return;
    }
    sendPing();
  }, PING_EVERY_MS);
}

function stopPing() {
  clearInterval(socket.pingTimer);
  socket.pingTimer = null;
  clearTimeout(socket.probeTimer);
  socket.probeTimer = null;
}

function handleMessage(raw) {
  let msg;
  try { msg = JSON.parse(raw); } catch (_) { return; }
  if (!isObject(msg)) return;
  switch (msg.type) {
    case 'snapshot':
      socket.failures = 0;
      applySnapshot(Array.isArray(msg.notifications) ? msg.notifications : []);
      applySessions(msg.sessions); // none from a server without session tracking
      break;
    case 'session': upsertSession(msg.session); break;
    case 'created':
    case 'updated': upsertRequest(msg.notification); break;
    case 'resolved':
    case 'dismissed': removeRequest(msg.notification, msg.type); break;
    default: break; // pong and anything newer
  }
}

/** End this browser's session on the server, forget it here, and go to the sign-in page. */
export async function signOut() {
  const used = sessionCredential();
  await api('DELETE', '/api/auth/session');
  forgetCredential(used);
  dropSocket();
  window.location.replace('/login#signed-out');
}
