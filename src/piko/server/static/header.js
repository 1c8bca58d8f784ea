/* The page around the list: pending count (badge and tab title), connection status, login help,
 * loading and empty states, the sort and group buttons. */

import { $ } from './dom.js';
import { state } from './state.js';

const APP_TITLE = 'Piko Orchestra';

export function renderHeader() {
  const count = state.requests.size;
  const badge = $('badge');
  badge.textContent = String(count);
  badge.dataset.count = String(count);
  badge.setAttribute('aria-label', `${count} pending ${count === 1 ? 'request' : 'requests'}`);
  const title = count > 0 ? `(${count}) ${APP_TITLE}` : APP_TITLE;
  if (document.title !== title) document.title = title;

  $('login-help').hidden = !state.authFailed;
  $('sign-out').hidden = state.authFailed;
  const loading = $('loading');
  loading.hidden = state.loaded || state.authFailed;
  loading.textContent = state.conn === 'offline'
    ? 'Cannot reach piko server. Is `piko server` running? Retrying…'
    : 'Connecting to piko server…';
  $('empty').hidden = !(state.loaded && count === 0 && !state.authFailed);

  const sortButton = $('sort-toggle');
  sortButton.textContent = state.sort === 'newest' ? 'Newest first' : 'Oldest first';
  sortButton.dataset.sort = state.sort;
  sortButton.setAttribute('aria-label', `Sort order: ${state.sort} first. Click to show ${state.sort === 'newest' ? 'oldest' : 'newest'} first.`);
  $('group-toggle').setAttribute('aria-pressed', String(state.group));
}

export function renderConn() {
  const node = $('conn-status');
  const labels = {
    connected: 'Connected',
    reconnecting: state.everConnected ? 'Reconnecting…' : 'Connecting…',
    offline: state.authFailed ? 'Offline: not signed in' : 'Offline',
  };
  node.dataset.state = state.conn;
  node.querySelector('.conn-text').textContent = labels[state.conn];
  node.title = state.conn === 'offline' && !state.authFailed
    ? 'Cannot reach piko server; retrying in the background'
    : `Connection to piko server: ${state.conn}`;
  document.body.classList.toggle('is-disconnected', state.conn !== 'connected');
}

/** The sign-in page's address as this page sees it, in the login help. */
export function showLoginOrigin() {
  if (!/^https?:$/.test(window.location.protocol)) return;
  for (const node of document.querySelectorAll('.login-origin')) node.textContent = window.location.origin;
}
