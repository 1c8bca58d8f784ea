/* The page's one source of truth: the pending requests, as the server's messages change them.
 *
 * Other modules draw from it (the render listener, queued once per change) and hear what happened:
 *   arrived(n)          a new request while the page is live
 *   missed([n])         requests that came while disconnected (after the snapshot of a reconnect)
 *   left(id)            a request left the inbox (its toast and desktop notification go)
 *   record(n)           a pending request's record changed
 *   removed(n, how)     it was resolved or dismissed (n: its final record)
 *   snapshot(map)       a (re)connect replaced everything
 *   signedout()         this browser is not signed in any more
 *   render()            draw the page
 */

import { savedGroup, savedSort, saveGroup, saveSort } from './prefs.js';
import { timeOf } from './time.js';
import { isObject } from './marks.js';

export const state = {
  requests: new Map(),     // id -> pending request record
  loaded: false,           // a snapshot has arrived at least once
  conn: 'reconnecting',    // connected | reconnecting | offline
  everConnected: false,
  authFailed: false,       // 401 / 4401: show the login help
  sort: savedSort(),
  group: savedGroup(),
  drafts: new Map(),       // id -> unsent reply text
  modal: null,             // the open response modal (modal.js)
};

const listeners = new Map();

export function listen(event, fn) {
  if (!listeners.has(event)) listeners.set(event, []);
  listeners.get(event).push(fn);
}

function emit(event, ...args) {
  for (const fn of listeners.get(event) || []) fn(...args);
}

let renderQueued = false;

export function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  // A microtask, not requestAnimationFrame: background tabs must stay current too (title, badge).
  queueMicrotask(() => {
    renderQueued = false;
    emit('render');
  });
}

export function isPending(n) {
  return !n.status || n.status === 'pending';
}

export function setConn(next) {
  if (state.conn !== next) {
    state.conn = next;
    if (next === 'connected') state.everConnected = true;
  }
  scheduleRender();
}

/** Every (re)connect: the snapshot replaces everything (no ghosts, no duplicates). */
export function applySnapshot(list) {
  const previous = state.requests;
  const wasLoaded = state.loaded;
  const next = new Map();
  for (const n of list) {
    if (isObject(n) && n.id && isPending(n)) next.set(String(n.id), n);
  }
  state.requests = next;
  state.loaded = true;
  state.authFailed = false;
  setConn('connected');

  for (const id of previous.keys()) {
    if (!next.has(id)) emit('left', id);
  }
  if (wasLoaded) {
    const arrived = [...next.values()].filter((n) => !previous.has(n.id));
    if (arrived.length) emit('missed', arrived);
  }
  emit('snapshot', next);
  scheduleRender();
}

export function upsertRequest(n) {
  if (!isObject(n) || !n.id) return;
  if (!isPending(n)) {
    removeRequest(n, n.status);
    return;
  }
  const isNew = !state.requests.has(n.id);
  state.requests.set(n.id, n);
  if (isNew && state.loaded) emit('arrived', n);
  emit('record', n);
  scheduleRender();
}

/** `n` was resolved or dismissed (`how`: the message type or its status). */
export function removeRequest(n, how) {
  if (!isObject(n) || !n.id) return;
  forget(n.id);
  emit('removed', n, how);
  scheduleRender();
}

/** The request left the inbox (answered from this page, or found gone): no draft, no alerts. */
export function forget(id) {
  state.requests.delete(id);
  state.drafts.delete(id);
  emit('left', id);
  scheduleRender();
}

/** Not signed in (any more): nothing of the inbox stays on screen. */
export function signedOut() {
  if (state.authFailed) return;
  state.authFailed = true;
  emit('signedout');
  for (const id of state.requests.keys()) emit('left', id);
  state.requests.clear();
  state.loaded = false;
  setConn('offline');
}

/** The request waiting longest, but `excludeId`. */
export function oldestPending(excludeId) {
  let best = null;
  for (const n of state.requests.values()) {
    if (n.id === excludeId) continue;
    if (!best || timeOf(n) < timeOf(best) || (timeOf(n) === timeOf(best) && String(n.id) < String(best.id))) best = n;
  }
  return best;
}

export function toggleSort() {
  state.sort = state.sort === 'newest' ? 'oldest' : 'newest';
  saveSort(state.sort);
  scheduleRender();
}

export function toggleGroup() {
  state.group = !state.group;
  saveGroup(state.group);
  scheduleRender();
}
