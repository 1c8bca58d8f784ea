/* The fleet's state: every Claude Code session piko server knows (its `sessions` in the snapshot, then
 * one `session` message per change, upserted by session_id), which view is shown (inbox or fleet) and
 * the fleet's filters. A server without session tracking sends none: the fleet is then simply empty. */

import { isObject } from './marks.js';
import { listen, scheduleRender } from './state.js';

const PREF_VIEW = 'piko.orchestra.view';
export const SESSION_STATES = ['working', 'waiting', 'idle', 'ended'];

function savedView() {
  try {
    return window.localStorage.getItem(PREF_VIEW) === 'fleet' ? 'fleet' : 'inbox';
  } catch (_) {
    return 'inbox';
  }
}

export const fleet = {
  sessions: new Map(),   // session_id -> session record
  view: savedView(),     // 'inbox' | 'fleet'
  stateFilter: '',       // '' (all but ended) or one of SESSION_STATES
  projectFilter: '',     // '' or a project label
  showEnded: false,
};

function validSession(s) {
  return isObject(s) && typeof s.session_id === 'string' && s.session_id !== '';
}

/** A (re)connect's snapshot: its sessions replace everything (none when the server sends none). */
export function applySessions(list) {
  fleet.sessions = new Map();
  for (const s of Array.isArray(list) ? list : []) if (validSession(s)) fleet.sessions.set(s.session_id, s);
  scheduleRender();
}

/** One session changed (or ended): keep its newest record. */
export function upsertSession(s) {
  if (!validSession(s)) return;
  const known = fleet.sessions.get(s.session_id);
  if (known && Date.parse(known.updated_at) > Date.parse(s.updated_at)) return; // an older message
  fleet.sessions.set(s.session_id, s);
  scheduleRender();
}

export function setView(view) {
  fleet.view = view === 'fleet' ? 'fleet' : 'inbox';
  try { window.localStorage.setItem(PREF_VIEW, fleet.view); } catch (_) { /* not remembered */ }
  scheduleRender();
}

export function toggleView() {
  setView(fleet.view === 'fleet' ? 'inbox' : 'fleet');
}

export function stateOf(s) {
  return SESSION_STATES.includes(s.state) ? s.state : 'unknown';
}

listen('signedout', () => {
  fleet.sessions.clear();
  scheduleRender();
});
