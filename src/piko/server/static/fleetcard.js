/* One agent in the fleet view: its state (a colour and a word), how long, the tool it is running or its
 * last prompt and answer, "quiet" when it has not been heard from for long, and its pending request
 * inline with the answer buttons the response modal offers for it (a permission's decisions; anything
 * else opens the modal). */

import { api, API, describeFailure } from './api.js';
import { el } from './dom.js';
import { forText, sinceOf } from './fleettime.js';
import { stateOf } from './fleetstate.js';
import { kindLabel, kindOf, summaryOf } from './labels.js';
import { isObject, oneLine } from './marks.js';
import { openModal } from './modal.js';
import { forget, scheduleRender, state } from './state.js';
import { timeOf } from './time.js';

export const STATE_LABELS = { working: 'Working', waiting: 'Waiting', idle: 'Idle', ended: 'Ended', unknown: 'Unknown' };

const cache = new Map(); // session_id -> {el, stamp}
const errors = new Map(); // request id -> the last failure of an inline answer
const busy = new Set();   // request ids whose inline answer is on its way

export function stateChip(s) {
  const st = stateOf(s);
  return el('span', { className: `state state-${st}`, text: STATE_LABELS[st] });
}

/** The session's pending request, if the inbox has it: its `request_id` (set while it waits on a dialog),
 * else the newest pending request of the same Claude session (an idle one has no `request_id`). */
export function requestOf(s) {
  const byId = s.request_id ? state.requests.get(String(s.request_id)) : null;
  if (byId) return byId;
  if (stateOf(s) === 'ended') return null;
  let best = null;
  for (const n of state.requests.values()) {
    if (n.session_id === s.session_id && (!best || timeOf(n) > timeOf(best))) best = n;
  }
  return best;
}

/** What it is doing (working) or did last (otherwise), as nodes. */
export function activityNodes(s) {
  if (stateOf(s) === 'working' && s.tool_name) {
    return [el('span', { className: 'tool', text: oneLine(s.tool_name, 60) }),
      el('span', { className: 'summary', text: oneLine(s.tool_summary || '', 300) || '—' })];
  }
  if (stateOf(s) === 'working') return [el('span', { className: 'summary muted', text: 'Thinking…' })];
  const nodes = [];
  if (s.last_prompt) nodes.push(el('span', { className: 'last-prompt', attrs: { title: 'Last prompt' }, text: `› ${oneLine(s.last_prompt, 200)}` }));
  if (s.last_answer) nodes.push(el('span', { className: 'last-answer', attrs: { title: 'Last answer' }, text: oneLine(s.last_answer, 300) }));
  return nodes.length ? nodes : [el('span', { className: 'muted', text: 'No prompt yet' })];
}

export function sessionCard(s) {
  const n = requestOf(s);
  const stamp = JSON.stringify([s, n && [n.id, n.updated_at, n.summary, n.options], errors.get(n && n.id) || '', n && busy.has(n.id)]);
  const cached = cache.get(s.session_id);
  if (cached && cached.stamp === stamp) return cached.el;
  const card = cached ? cached.el : el('article', {
    className: 'session-card',
    attrs: { tabindex: '0', 'aria-haspopup': 'dialog' },
    dataset: { id: s.session_id },
  });
  fillCard(card, s, n);
  cache.set(s.session_id, { el: card, stamp });
  return card;
}

export function forgetCards(keep) {
  for (const id of [...cache.keys()]) if (!keep.has(id)) cache.delete(id);
}

function fillCard(card, s, n) {
  const st = stateOf(s);
  card.className = `session-card state-${st}${s.quiet ? ' is-quiet' : ''}`;
  card.dataset.state = st;
  const where = [s.git_branch && `⎇ ${s.git_branch}`, s.tmux_session && `tmux ${s.tmux_session}`].filter(Boolean).join(' · ');
  const label = `${STATE_LABELS[st]} ${forText(s)}${s.quiet ? ', quiet' : ''}${n ? `, ${kindLabel(n)} request pending` : ''}`;
  card.setAttribute('aria-label', `Agent ${s.session_id.slice(0, 8)}: ${label}`);
  card.replaceChildren(
    el('div', { className: 'card-top' },
      stateChip(s),
      s.quiet ? el('span', { className: 'quiet-mark', attrs: { title: 'No event heard from this agent for a long time' }, text: 'quiet' }) : null,
      el('span', { className: 'where', text: where || oneLine(s.cwd || '', 80) }),
      el('span', { className: 'spacer' }),
      el('time', { className: 'for', text: forText(s), dataset: { since: String(sinceOf(s)) }, attrs: { datetime: s.since || '' } })),
    el('div', { className: `card-main activity activity-${st}` }, ...activityNodes(s)),
  );
  if (n) card.append(requestBox(n));
}

/** The pending request inline: what it asks and its answer buttons. */
export function requestBox(n) {
  const kind = kindOf(n);
  const options = kind === 'permission' && Array.isArray(n.options) ? n.options.filter(isObject) : [];
  const locked = busy.has(n.id);
  const buttons = options.map((opt) => {
    const decision = typeof opt.decision === 'string' ? opt.decision : '';
    return el('button', {
      className: `option inline-option${decision ? ` decision-${decision}` : ''}`,
      attrs: { type: 'button', disabled: locked, title: opt.description || null },
      dataset: { decision: decision || undefined },
      on: { click: (e) => { e.stopPropagation(); answerInline(n, opt); } },
    }, el('span', { className: 'opt-label', text: opt.label || opt.key || decision || '?' }));
  });
  const open = el('button', {
    className: 'secondary inline-open',
    attrs: { type: 'button' },
    on: { click: (e) => { e.stopPropagation(); openModal(n.id); } },
  }, options.length ? 'Details…' : 'Answer…');
  const error = errors.get(n.id);
  return el('div', { className: `session-request kind-${kind}`, dataset: { requestId: n.id } },
    el('div', { className: 'request-line' },
      el('span', { className: `kind kind-${kind}`, text: kindLabel(n) }),
      el('span', { className: 'summary', text: summaryOf(n) || '—' })),
    el('div', { className: 'inline-actions' }, ...buttons, open),
    error ? el('p', { className: 'inline-error', attrs: { role: 'alert' }, text: error }) : null);
}

/** The same answer the modal sends for that option (permission.js). */
async function answerInline(n, opt) {
  if (busy.has(n.id)) return;
  const body = typeof opt.decision === 'string' && opt.decision
    ? { notification_id: n.id, decision: opt.decision }
    : { notification_id: n.id, response: String(opt.key !== undefined ? opt.key : opt.label), response_type: 'option' };
  busy.add(n.id);
  errors.delete(n.id);
  scheduleRender(); // the card redraws with its buttons locked
  const result = await api('POST', `${API}/respond`, body);
  busy.delete(n.id);
  if (result.ok) forget(n.id);
  else errors.set(n.id, describeFailure(result).text);
  scheduleRender();
}
