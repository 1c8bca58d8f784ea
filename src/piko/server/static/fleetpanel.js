/* The session panel: one agent of the fleet, opened from its card. Its state and details, its pending
 * request (answer buttons as on the card), the live terminal of its tmux pane whatever it is doing
 * (preview.js polls the session's screen route while the panel is open), a box to send an idle agent its
 * next instruction (through its pending idle request), and its timeline (the audit trail). */

import { api, API, describeFailure } from './api.js';
import { $, el, finePointer } from './dom.js';
import { activityNodes, requestBox, requestOf, stateChip } from './fleetcard.js';
import { fleet, stateOf } from './fleetstate.js';
import { forText, sinceOf } from './fleettime.js';
import { kindOf, projectHue, projectLabel } from './labels.js';
import { oneLine, revealText } from './marks.js';
import { freshPreview, pollPreview, stopPreview } from './preview.js';
import { forget, state } from './state.js';

/** {id, previewKey, owner (the preview's), signature, busy} while open. */
let panel = null;

export function openSession(id) {
  if (!fleet.sessions.has(id)) return;
  if (panel && panel.id !== id) closeSession();
  panel = panel || { id, previewKey: null, owner: null, signature: null, busy: false, timelineSeq: 0 };
  $('fp-text').value = '';
  showNote('', '');
  renderSession();
  loadTimeline(true);
  const dialog = $('fleet-panel');
  if (!dialog.open) dialog.showModal();
  if (finePointer() && !$('fp-text').disabled) $('fp-text').focus();
  else dialog.querySelector('.modal-inner').focus({ preventScroll: true });
}

export function closeSession() {
  if (!panel) return;
  const id = panel.id;
  if (panel.owner) stopPreview(panel.owner);
  panel = null;
  const dialog = $('fleet-panel');
  if (dialog.open) dialog.close();
  const card = document.querySelector(`#fleet-list .session-card[data-id="${CSS.escape(id)}"]`);
  if (card) card.focus({ preventScroll: true });
}

/** Redraw the open panel from the newest records (each render of the page). */
export function renderSession() {
  if (!panel) return;
  const s = fleet.sessions.get(panel.id);
  if (!s) return;
  const n = requestOf(s);
  $('fleet-panel').dataset.id = s.session_id;
  $('fleet-panel').dataset.state = stateOf(s);
  const label = projectLabel(s);
  $('fp-state').replaceChildren(stateChip(s));
  $('fp-project').textContent = label;
  $('fp-project').style.setProperty('--hue', String(projectHue(label)));
  const forNode = $('fp-for');
  forNode.dataset.since = String(sinceOf(s));
  forNode.textContent = forText(s);
  $('fp-quiet').hidden = !s.quiet;
  $('fleet-panel-title').replaceChildren(...activityNodes(s));
  $('fp-subtitle').textContent = revealText([s.cwd, s.tmux_session && `tmux ${s.tmux_session}`].filter(Boolean).join(' — '));
  const signature = JSON.stringify([s, n && [n.id, n.updated_at]]);
  if (signature !== panel.signature) {
    if (panel.signature !== null) loadTimeline(); // it changed: so did its audit trail
    panel.signature = signature;
    $('fp-details').replaceChildren(...details(s));
    $('fp-request').replaceChildren(...(n ? [requestBox(n)] : []));
    $('fp-request').hidden = !n;
  }
  renderInstructionBox(s, n);
  followPreview(s, n);
}

function details(s) {
  const rows = [
    ['Session', s.session_id], ['Project', s.project_name], ['Environment', s.env_name], ['Branch', s.git_branch],
    ['Folder', s.cwd], ['tmux', [s.tmux_session, s.tmux_target].filter(Boolean).join(' ')],
    ['Last prompt', s.last_prompt], ['Last answer', s.last_answer], ['Ended via', s.ended_via],
  ];
  return rows.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: oneLine(v, 600) })]);
}

/** The instruction box works through the agent's pending idle request (typed into its prompt). */
function renderInstructionBox(s, n) {
  const idleRequest = n && kindOf(n) === 'idle' ? n : null;
  $('fp-text').disabled = !idleRequest || panel.busy;
  $('fp-send').disabled = !idleRequest || panel.busy;
  let hint = 'Typed into its prompt — Enter sends, Shift+Enter for a new line';
  if (!idleRequest && stateOf(s) === 'idle') hint = 'No idle prompt of this agent is pending right now.';
  else if (!idleRequest) hint = `Possible once the agent is idle and waits for its next instruction (it is ${stateOf(s)}).`;
  $('fp-instruct-hint').textContent = hint;
}

/** The live terminal: the session's own pane while it has one (working, waiting or idle alike); a session
 * without a pane shows its pending request's preview (which says why there is none), else its details. */
function followPreview(s, n) {
  const pre = $('fp-preview');
  const status = $('fp-preview-status');
  const ended = stateOf(s) === 'ended';
  const hasPane = !ended && Boolean(s.tmux_target || s.tmux_session);
  const key = hasPane ? JSON.stringify(['session', s.session_id, s.tmux_socket, s.tmux_target, s.tmux_session])
    : n ? JSON.stringify(['request', n.id]) : null;
  if (panel.owner && panel.previewKey === key) {
    panel.owner.record = hasPane ? s : n;
    return;
  }
  if (panel.owner) stopPreview(panel.owner);
  panel.previewKey = key;
  panel.owner = null;
  if (!key) {
    pre.hidden = true;
    status.textContent = ended ? 'No live view: this agent has ended'
      : 'No live view: piko server knows no tmux pane of this agent';
    status.dataset.tone = 'muted';
    return;
  }
  pre.hidden = false;
  const current = panel;
  const owner = hasPane
    ? { id: s.session_id, record: s, gone: null, noun: 'session',
      screenPath: `${API}/sessions/${encodeURIComponent(s.session_id)}/screen`, preview: freshPreview({ pre, status }) }
    : { id: n.id, record: n, gone: null, preview: freshPreview({ pre, status }) };
  owner.isShown = () => panel === current && current.owner === owner;
  panel.owner = owner;
  pollPreview(owner);
}

/** Ask for the session's timeline (`fresh`: the panel just opened, say it is loading). */
async function loadTimeline(fresh = false) {
  const current = panel;
  const seq = ++current.timelineSeq;
  const list = $('fp-timeline');
  if (fresh) list.replaceChildren(el('li', { className: 'muted', text: 'Loading…' }));
  const result = await api('GET', `${API}/sessions/${encodeURIComponent(current.id)}`);
  if (panel !== current || seq !== current.timelineSeq) return;
  const entries = result.ok && result.data && Array.isArray(result.data.timeline) ? result.data.timeline : null;
  if (!entries) {
    const why = result.status === 404 ? 'piko server has no timeline for this session.' : describeFailure(result).text;
    list.replaceChildren(el('li', { className: 'muted', text: why }));
    return;
  }
  if (!entries.length) {
    list.replaceChildren(el('li', { className: 'muted', text: 'Nothing recorded yet.' }));
    return;
  }
  list.replaceChildren(...entries.map(timelineEntry));
}

/** "Stop" for a hook event; "request (PermissionRequest)", "answer" for the rest. */
function timelineLabel(e) {
  const kind = typeof e.kind === 'string' ? e.kind : '';
  const event = typeof e.event === 'string' ? e.event : '';
  if (kind === 'event' || !kind) return event;
  return event ? `${kind} (${event})` : kind;
}

function timelineEntry(e) {
  const at = Date.parse(e.at);
  const when = Number.isFinite(at) ? new Date(at).toLocaleTimeString() : '';
  const how = [e.via && `via ${e.via}`, e.by && `by ${e.by}`].filter(Boolean).join(' ');
  return el('li', { className: `timeline-entry kind-${String(e.kind || '')}` },
    el('time', { className: 'tl-at', attrs: { datetime: e.at || '' }, text: when }),
    el('span', { className: 'tl-event', text: oneLine(timelineLabel(e), 80) }),
    e.summary ? el('span', { className: 'tl-summary', text: oneLine(e.summary, 300) }) : null,
    how ? el('span', { className: 'tl-how', text: how }) : null);
}

function showNote(text, tone) {
  const note = $('fp-note');
  note.textContent = text;
  note.dataset.tone = tone;
  note.hidden = !text;
}

async function sendInstruction() {
  if (!panel || panel.busy) return;
  const s = fleet.sessions.get(panel.id);
  const n = s ? requestOf(s) : null;
  const text = $('fp-text').value;
  if (!n || kindOf(n) !== 'idle') return;
  if (!text.trim()) {
    showNote('Type an instruction first.', 'error');
    return;
  }
  const current = panel;
  current.busy = true;
  renderSession();
  const result = await api('POST', `${API}/respond`, { notification_id: n.id, response: text });
  current.busy = false;
  if (panel !== current) return;
  if (result.ok) {
    $('fp-text').value = '';
    showNote('Sent.', 'ok');
    forget(n.id);
    loadTimeline();
  } else {
    showNote(describeFailure(result).text, 'error');
  }
  renderSession();
}

export function bindSessionPanel() {
  const dialog = $('fleet-panel');
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    closeSession();
  });
  dialog.addEventListener('close', () => { if (panel && !dialog.open) closeSession(); });
  dialog.addEventListener('click', (e) => { if (e.target === dialog) closeSession(); });
  $('fp-close').addEventListener('click', closeSession);
  $('fp-send').addEventListener('click', sendInstruction);
  $('fp-text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.isComposing) {
      e.preventDefault();
      sendInstruction();
    }
  });
  $('fleet-list').addEventListener('click', (e) => {
    const card = e.target instanceof Element ? e.target.closest('.session-card') : null;
    if (card && !(e.target instanceof Element && e.target.closest('button'))) openSession(card.dataset.id);
  });
}

/** The panel is open (keyboard.js leaves its keys alone). */
export function sessionOpen() {
  return panel !== null;
}

/** The tab is visible again: look at the panel's terminal now. */
export function onVisible() {
  if (panel && panel.owner && !document.hidden) pollPreview(panel.owner);
}
