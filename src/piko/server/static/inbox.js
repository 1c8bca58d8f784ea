/* The inbox: one card per pending request, newest or oldest first, optionally grouped by project.
 * Cards are kept between renders (redrawn only when their record changes) and keyboard focus stays put. */

import { $, el } from './dom.js';
import { kindLabel, kindOf, projectHue, projectLabel, summaryOf, toolLabel } from './labels.js';
import { state } from './state.js';
import { ageText, timeOf } from './time.js';

const LONG_WAIT_MS = 5 * 60 * 1000;

const cardCache = new Map();    // id -> {el, stamp}
const headerCache = new Map();  // group label -> element

/** Pending requests in display order (sort toggle, then optional grouping that keeps that order). */
function orderedRequests() {
  const list = [...state.requests.values()].sort((a, b) => (timeOf(a) - timeOf(b)) || String(a.id).localeCompare(String(b.id)));
  if (state.sort === 'newest') list.reverse();
  if (!state.group) return list;
  const groups = new Map();
  for (const n of list) {
    const key = projectLabel(n);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(n);
  }
  return [...groups.values()].flat();
}

export function renderList() {
  const container = $('requests');
  const items = orderedRequests();
  const nodes = [];
  const counts = new Map();
  if (state.group) for (const n of items) counts.set(projectLabel(n), (counts.get(projectLabel(n)) || 0) + 1);
  let lastGroup = null;
  for (const n of items) {
    if (state.group) {
      const label = projectLabel(n);
      if (label !== lastGroup) {
        nodes.push(groupHeader(label, counts.get(label)));
        lastGroup = label;
      }
    }
    nodes.push(cardFor(n));
  }
  for (const id of [...cardCache.keys()]) if (!state.requests.has(id)) cardCache.delete(id);
  for (const key of [...headerCache.keys()]) if (!counts.has(key)) headerCache.delete(key);
  reconcile(container, nodes);
  container.classList.toggle('stale', state.conn !== 'connected');
}

/** Put exactly `nodes` in `container`, moving as little as possible and keeping keyboard focus. */
function reconcile(container, nodes) {
  const active = document.activeElement;
  const focusedCard = active && active.classList && active.classList.contains('request-card') && container.contains(active) ? active : null;
  const focusedIndex = focusedCard ? [...container.querySelectorAll('.request-card')].indexOf(focusedCard) : -1;

  const keep = new Set(nodes);
  for (const child of [...container.children]) if (!keep.has(child)) child.remove();
  nodes.forEach((node, i) => {
    const current = container.children[i];
    if (current !== node) container.insertBefore(node, current || null);
  });

  if (!focusedCard || state.modal) return;
  if (focusedCard.isConnected) {
    if (document.activeElement !== focusedCard) focusedCard.focus({ preventScroll: true });
    return;
  }
  const cards = container.querySelectorAll('.request-card');
  if (cards.length) cards[Math.min(focusedIndex, cards.length - 1)].focus({ preventScroll: true });
}

function groupHeader(label, count) {
  let node = headerCache.get(label);
  if (!node) {
    node = el('h2', { className: 'group-header' });
    node.style.setProperty('--hue', String(projectHue(label)));
    headerCache.set(label, node);
  }
  node.textContent = `${label} (${count})`;
  return node;
}

function cardFor(n) {
  const stamp = JSON.stringify([n.updated_at, n.kind, n.tool_name, n.tool_input, n.summary, n.message, n.title,
    n.project_name, n.env_name, n.tmux_session, n.cwd, n.created_at, state.group]);
  const cached = cardCache.get(n.id);
  if (cached && cached.stamp === stamp) return cached.el;
  const card = cached ? cached.el : el('article', {
    className: 'request-card',
    attrs: { tabindex: '0', role: 'button', 'aria-haspopup': 'dialog' },
    dataset: { id: n.id },
  });
  fillCard(card, n);
  cardCache.set(n.id, { el: card, stamp });
  return card;
}

function fillCard(card, n) {
  const kind = kindOf(n);
  const project = projectLabel(n);
  const summary = summaryOf(n);
  const tool = toolLabel(n);
  card.className = `request-card kind-${kind}`;
  card.dataset.id = n.id;
  card.dataset.kind = kind;
  card.style.setProperty('--hue', String(projectHue(project)));
  card.setAttribute('aria-label', `${kindLabel(n)} request from ${project}${tool ? `: ${tool}` : ''}${summary ? ` — ${summary}` : ''}`);
  card.title = summary;

  const age = el('time', { className: 'age', text: ageText(n), attrs: { datetime: n.created_at || '' }, dataset: { time: String(timeOf(n)) } });
  const projectChip = state.group ? null : el('span', { className: 'project', text: project });
  card.replaceChildren(
    el('div', { className: 'card-top' },
      el('span', { className: `kind kind-${kind}`, text: kindLabel(n) }),
      projectChip,
      el('span', { className: 'spacer' }),
      age),
    el('div', { className: 'card-main' },
      tool ? el('span', { className: 'tool', text: tool }) : null,
      el('span', { className: 'summary', text: summary || '—' })),
  );
  markLongWait(card, n);
}

function markLongWait(card, n) {
  const t = timeOf(n);
  card.classList.toggle('waiting-long', Boolean(t) && Date.now() - t > LONG_WAIT_MS);
}

/** Mark the cards of requests that have waited long (every few seconds, with the age labels). */
export function refreshLongWaits() {
  for (const { el: card } of cardCache.values()) {
    const n = state.requests.get(card.dataset.id);
    if (n) markLongWait(card, n);
  }
}

/** The cards in the order shown. */
export function cards() {
  return [...$('requests').querySelectorAll('.request-card')];
}
