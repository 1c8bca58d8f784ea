/* The fleet view: every agent, grouped by project and environment, filtered by state and project, beside
 * the inbox (two tabs). Cards are kept between renders (fleetcard.js) and keyboard focus stays put. */

import { api, API } from './api.js';
import { $, el } from './dom.js';
import { forgetCards, sessionCard, STATE_LABELS } from './fleetcard.js';
import { fleet, setView, stateOf, upsertSession } from './fleetstate.js';
import { projectHue, projectLabel } from './labels.js';
import { scheduleRender, state } from './state.js';

const headerCache = new Map(); // group label -> element

function visible(s) {
  const st = stateOf(s);
  if (fleet.stateFilter) return st === fleet.stateFilter;
  return st !== 'ended' || fleet.showEnded;
}

/** The sessions shown, grouped by project label (groups and sessions in a stable order). */
function groupedSessions() {
  const list = [...fleet.sessions.values()].filter(visible);
  const shown = fleet.projectFilter ? list.filter((s) => projectLabel(s) === fleet.projectFilter) : list;
  shown.sort((a, b) => projectLabel(a).localeCompare(projectLabel(b)) || String(a.session_id).localeCompare(String(b.session_id)));
  const groups = new Map();
  for (const s of shown) {
    const key = projectLabel(s);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(s);
  }
  return groups;
}

export function renderFleet() {
  renderTabs();
  const groups = groupedSessions();
  const nodes = [];
  for (const [label, list] of groups) {
    nodes.push(groupHeader(label, list));
    for (const s of list) nodes.push(sessionCard(s));
  }
  forgetCards(new Set([...groups.values()].flat().map((s) => s.session_id)));
  for (const key of [...headerCache.keys()]) if (!groups.has(key)) headerCache.delete(key);
  const list = $('fleet-list');
  reconcile(list, nodes);
  list.classList.toggle('stale', state.conn !== 'connected');
  renderFilters();
  const empty = $('fleet-empty');
  empty.hidden = !(state.loaded && nodes.length === 0);
  $('fleet-empty-title').textContent = fleet.sessions.size ? 'No agent matches these filters' : 'No agent is running';
}

function renderTabs() {
  const onFleet = fleet.view === 'fleet';
  $('inbox-view').hidden = onFleet;
  $('fleet-view').hidden = !onFleet;
  $('tab-inbox').setAttribute('aria-selected', String(!onFleet));
  $('tab-fleet').setAttribute('aria-selected', String(onFleet));
  $('tab-inbox').tabIndex = onFleet ? -1 : 0;
  $('tab-fleet').tabIndex = onFleet ? 0 : -1;
  $('tab-inbox-count').textContent = String(state.requests.size);
  const active = [...fleet.sessions.values()].filter((s) => stateOf(s) !== 'ended').length;
  $('tab-fleet-count').textContent = String(active);
  document.body.dataset.view = fleet.view;
}

function groupHeader(label, list) {
  let node = headerCache.get(label);
  if (!node) {
    node = el('h2', { className: 'group-header fleet-group' });
    node.style.setProperty('--hue', String(projectHue(label)));
    headerCache.set(label, node);
  }
  const counts = new Map();
  for (const s of list) counts.set(stateOf(s), (counts.get(stateOf(s)) || 0) + 1);
  const parts = [...counts].map(([st, c]) => `${c} ${STATE_LABELS[st].toLowerCase()}`);
  node.textContent = `${label} (${parts.join(', ')})`;
  return node;
}

/** The project filter lists the projects seen; a chosen project that left stays listed. */
function renderFilters() {
  const select = $('fleet-project');
  const labels = [...new Set([...fleet.sessions.values()].map(projectLabel))].sort();
  if (fleet.projectFilter && !labels.includes(fleet.projectFilter)) labels.push(fleet.projectFilter);
  const want = JSON.stringify(labels);
  if (select.dataset.options !== want) {
    select.dataset.options = want;
    select.replaceChildren(el('option', { attrs: { value: '' } }, 'All projects'),
      ...labels.map((l) => el('option', { attrs: { value: l }, text: l })));
  }
  select.value = fleet.projectFilter;
  $('fleet-state').value = fleet.stateFilter;
  $('fleet-ended').checked = fleet.showEnded;
}

/** Put exactly `nodes` in `container`, moving as little as possible and keeping keyboard focus. */
function reconcile(container, nodes) {
  const active = document.activeElement;
  const focused = active instanceof Element && container.contains(active) ? active.closest('.session-card') : null;
  const index = focused ? sessionCards().indexOf(focused) : -1;
  const keep = new Set(nodes);
  for (const child of [...container.children]) if (!keep.has(child)) child.remove();
  nodes.forEach((node, i) => {
    const current = container.children[i];
    if (current !== node) container.insertBefore(node, current || null);
  });
  if (!focused || focused.isConnected || state.modal) return;
  const cards = sessionCards();
  if (cards.length) cards[Math.min(index, cards.length - 1)].focus({ preventScroll: true });
}

/** The session cards in the order shown. */
export function sessionCards() {
  return [...$('fleet-list').querySelectorAll('.session-card')];
}

/** Ended sessions are not in the snapshot: ask for them once the person wants to see them. */
async function loadEnded() {
  const result = await api('GET', `${API}/sessions?include=ended`);
  if (result.ok && result.data && Array.isArray(result.data.sessions)) result.data.sessions.forEach(upsertSession);
}

export function bindFleet() {
  $('tab-inbox').addEventListener('click', () => setView('inbox'));
  $('tab-fleet').addEventListener('click', () => setView('fleet'));
  // The tabs' own keys: Left / Right move between them (and show the view).
  document.querySelector('.view-tabs').addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const next = fleet.view === 'fleet' ? 'inbox' : 'fleet';
    setView(next);
    $(`tab-${next}`).focus();
  });
  $('fleet-state').addEventListener('change', (e) => {
    fleet.stateFilter = e.target.value;
    if (fleet.stateFilter === 'ended') loadEnded();
    scheduleRender();
  });
  $('fleet-project').addEventListener('change', (e) => {
    fleet.projectFilter = e.target.value;
    scheduleRender();
  });
  $('fleet-ended').addEventListener('change', (e) => {
    fleet.showEnded = e.target.checked;
    if (fleet.showEnded) loadEnded();
    scheduleRender();
  });
}
