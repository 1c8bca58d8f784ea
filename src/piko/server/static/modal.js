/* The response modal: one request, what it asks, its answer controls, a reply box, its terminal.
 *
 * What differs by kind (title, details, answer controls, whether a typed reply applies) lives in
 * permission.js, question.js, idle.js, notice.js and elicit.js. Here: opening and closing, the header, sending an
 * answer or dismissing (locked while on its way), errors, and a request that leaves the inbox while it
 * is open ("Answered elsewhere": locked, not vanished).
 *
 * state.modal = {
 *   id, record,              // the request shown (its last known record)
 *   gone: null | {record, how},  // resolved/dismissed elsewhere: buttons disabled
 *   busy: false,             // an answer is on its way
 *   goneWhileBusy: null,     // resolved/dismissed message that came while busy
 *   signature,               // what the details were drawn from (no redraw unless it changes)
 *   selections: Map,         // question index -> Set of labels (question.js also keeps others, reviewing)
 *   grants: null | Set,      // the "don't ask again" suggestions ticked (suggestions.js)
 *   elicit: Map,             // an MCP form's values as typed (elicit.js)
 *   preview,                 // preview.js's polling state
 * }
 */

import { api, API, describeFailure, requestPath } from './api.js';
import { focusedOption, numberOptionButtons, optionButtons, refocusOption } from './choices.js';
import { $, el, finePointer } from './dom.js';
import { elicitation } from './elicit.js';
import { idle } from './idle.js';
import { kindLabel, kindOf, projectHue, projectLabel, resolutionOf } from './labels.js';
import { isObject, oneLine } from './marks.js';
import { notice } from './notice.js';
import { permission } from './permission.js';
import { freshPreview, pollPreview, stopPreview } from './preview.js';
import { question, reviewOrSend, updateSubmitState } from './question.js';
import { forget, isPending, oldestPending, scheduleRender, state } from './state.js';
import { ageText, timeOf } from './time.js';

const KINDS = { permission, question, idle, notice, elicitation };

function kindModule(n) {
  return KINDS[kindOf(n)];
}

/** Whether the request is answered with a typed reply (a view may decide per record). */
function typedFor(n) {
  const typed = kindModule(n).typed;
  return typeof typed === 'function' ? typed(n) : typed;
}

export function openModal(id) {
  const record = state.requests.get(id);
  if (!record) return;
  const dialog = $('modal');
  if (state.modal && state.modal.id === id) {
    if (!dialog.open) dialog.showModal();
    return;
  }
  if (state.modal) teardownModal();
  const modal = {
    id, record, gone: null, busy: false, goneWhileBusy: null, signature: null, selections: new Map(),
    grants: null, elicit: new Map(), preview: freshPreview(),
  };
  state.modal = modal;
  $('response-text').value = state.drafts.get(id) || '';
  $('deny-message').value = '';
  showModalError(null);
  $('modal-elsewhere').hidden = true;
  dialog.classList.remove('is-gone');
  renderModal();
  if (!dialog.open) dialog.showModal();
  focusModalStart(modal);
  pollPreview(modal);
}

/** Never put focus on an answer button on open: a held or repeated Enter must not approve anything. */
function focusModalStart(modal) {
  if (typedFor(modal.record) && finePointer()) {
    $('response-text').focus();
    return;
  }
  $('modal').querySelector('.modal-inner').focus({ preventScroll: true });
}

export function closeModal() {
  const modal = state.modal;
  if (!modal) return;
  teardownModal();
  const dialog = $('modal');
  if (dialog.open) dialog.close();
  restoreListFocus(modal.id);
}

function teardownModal() {
  const modal = state.modal;
  if (!modal) return;
  stopPreview(modal);
  const draft = $('response-text').value;
  if (draft && !modal.gone && state.requests.has(modal.id)) state.drafts.set(modal.id, draft);
  else state.drafts.delete(modal.id);
  state.modal = null;
}

function restoreListFocus(id) {
  const cards = [...$('requests').querySelectorAll('.request-card')];
  const card = cards.find((c) => c.dataset.id === id) || cards[0];
  if (card) card.focus({ preventScroll: false });
}

/** Open the request waiting longest (but the one open); false when there is none. */
export function openNext() {
  const next = oldestPending(state.modal ? state.modal.id : null);
  if (next) openModal(next.id);
  return Boolean(next);
}

function renderModal() {
  const modal = state.modal;
  if (!modal) return;
  const n = modal.record;
  const kind = kindOf(n);
  const view = kindModule(n);
  const dialog = $('modal');
  dialog.dataset.id = n.id;
  dialog.dataset.kind = kind;

  const kindNode = $('modal-kind');
  kindNode.className = `kind kind-${kind}`;
  kindNode.textContent = kindLabel(n);
  const projectNode = $('modal-project');
  projectNode.textContent = projectLabel(n);
  projectNode.style.setProperty('--hue', String(projectHue(projectLabel(n))));
  const age = $('modal-age');
  age.dataset.time = String(timeOf(n));
  age.textContent = ageText(n);
  // How a choice will travel: straight to Claude through its waiting hook, or pressed as a key.
  const route = $('modal-route');
  const typed = typedFor(n);
  route.hidden = typed || n.kind === 'notice'; // a notice is answered by nobody
  route.dataset.route = n.hook_waiting ? 'hook' : 'keys';
  route.textContent = n.hook_waiting ? 'answer goes straight to Claude' : 'answer is typed into the terminal';
  if (n.kind === 'elicitation' && !n.hook_waiting) route.textContent = 'no hook waits: answer it in the terminal';
  route.title = n.hook_waiting
    ? 'Claude Code\'s hook is waiting: your choice reaches it as a decision, no keystroke typed'
    : 'No hook is waiting: your choice is pressed as a key on the dialog in the terminal';
  $('modal-title').textContent = view.title(n);
  $('modal-subtitle').textContent = view.subtitle(n);
  $('reply-label').textContent = 'Your reply (typed into the terminal)';
  for (const node of [$('reply-label'), $('response-text'), $('send')]) node.hidden = !typed;

  const signature = JSON.stringify([n.kind, n.tool_name, n.tool_input, n.options, n.message, n.title, n.detail, n.suggestions]);
  if (signature !== modal.signature) {
    modal.signature = signature;
    $('modal-details').replaceChildren(...view.details(n));
    renderAnswerControls(modal, view);
  }
  renderModalFooterState();
}

function renderAnswerControls(modal, view) {
  const focused = focusedOption();
  $('modal-options').replaceChildren();
  $('questions').replaceChildren();
  $('deny-message-row').hidden = true;
  $('submit-answers').hidden = true;
  view.answers(modal.record, answerContext(modal, view));
  numberOptionButtons();
  refocusOption(focused);
}

/** What a view's answer controls may do: send a body, say what is missing, redraw themselves. */
function answerContext(modal, view) {
  return {
    modal,
    respond: (body) => respond(modal, body),
    fail: (text) => showModalError({ text, code: 'incomplete' }),
    redraw: () => {
      if (state.modal !== modal) return;
      showModalError(null);
      renderAnswerControls(modal, view);
      renderModalFooterState();
    },
  };
}

/** Lock the controls while an answer is on its way or after the request left; offer the next one. */
export function renderModalFooterState() {
  const modal = state.modal;
  if (!modal) return;
  const locked = modal.busy || Boolean(modal.gone);
  for (const button of optionButtons()) button.disabled = locked;
  $('send').disabled = locked;
  $('dismiss').disabled = locked;
  $('response-text').disabled = Boolean(modal.gone);
  $('deny-message').disabled = Boolean(modal.gone);
  $('modal').setAttribute('aria-busy', String(modal.busy));
  updateSubmitState(modal);
  $('open-next').hidden = !(modal.gone && oldestPending(modal.id));
}

// ---- the request changed or left while open (state.js's events)

/** A pending request's record changed: redraw if it is the open one. */
export function recordChanged(n) {
  const modal = state.modal;
  if (!modal || modal.id !== n.id || modal.gone) return;
  modal.record = n;
  renderModal();
}

/** The request was resolved or dismissed (`how`) while open. */
export function recordRemoved(n, how) {
  const modal = state.modal;
  if (!modal || modal.id !== n.id || modal.gone) return;
  if (modal.busy) modal.goneWhileBusy = { record: n, how };
  else goneFromModal(n, how);
}

/** A (re)connect's snapshot: the open request is still pending (redraw) or it is not (gone). */
export function snapshotArrived(requests) {
  const modal = state.modal;
  if (!modal || modal.gone) return;
  const record = requests.get(modal.id);
  if (record) {
    modal.record = record;
    renderModal();
  } else {
    goneFromModal(null, null);
  }
}

/** The request left the inbox while its modal is open: say so and lock it, do not just vanish. */
function goneFromModal(record, how) {
  const modal = state.modal;
  if (!modal) return;
  modal.gone = { record, how };
  stopPreview(modal);
  $('modal').classList.add('is-gone');
  $('modal-elsewhere').hidden = false;
  $('modal-elsewhere-detail').textContent = record ? goneDetail(record, how) : 'It is no longer pending.';
  renderModalFooterState();
  if (!record) explainGone(modal);
  else pollPreview(modal); // keep showing the terminal a little longer: it shows what happened
}

/** How it was resolved, and the answer given. */
function goneDetail(record, how) {
  const text = resolutionOf(record, how);
  const dismissed = how === 'dismissed' || record.status === 'dismissed';
  if (dismissed || record.response === null || record.response === undefined || record.response === '') return text;
  return `${text} Answer: ${oneLine(record.response, 120)}`;
}

/** Gone without its final record (seen missing from a snapshot, or refused): ask the server for it. */
async function explainGone(modal) {
  const result = await api('GET', requestPath(modal.id));
  if (state.modal !== modal) return;
  if (result.ok && isObject(result.data) && !isPending(result.data)) {
    modal.gone.record = result.data;
    $('modal-elsewhere-detail').textContent = goneDetail(result.data, result.data.status);
  }
}

/** Show `error` ({text, code}) above the answer controls; null hides it. */
export function showModalError(error) {
  const box = $('modal-error');
  if (!error) {
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.code;
    return;
  }
  box.dataset.code = error.code || '';
  box.replaceChildren(
    el('span', { className: 'error-text', text: error.text }),
    error.code ? el('code', { className: 'error-code', text: error.code }) : null,
  );
  box.hidden = false;
}

// ---- answering

async function respond(modal, body) {
  if (state.modal !== modal || modal.busy || modal.gone) return;
  await runAction(modal, () => api('POST', `${API}/respond`, body));
}

export async function dismissRequest() {
  const modal = state.modal;
  if (!modal || modal.busy || modal.gone) return;
  await runAction(modal, () => api('DELETE', requestPath(modal.id)));
}

/** Send the reply box's text (typed into the terminal). */
export function sendText() {
  const modal = state.modal;
  if (!modal || modal.busy || modal.gone) return;
  const text = $('response-text').value;
  if (!text.trim()) {
    showModalError({ text: 'Type a reply first.', code: '' });
    $('response-text').focus();
    return;
  }
  respond(modal, { notification_id: modal.id, response: text });
}

/** The answers of a question with several parts (a multiple choice, words of its own): the first
 * press shows them for review, the second sends them. */
export function submitAnswers() {
  const modal = state.modal;
  if (!modal || modal.busy || modal.gone || $('submit-answers').hidden) return;
  if (!reviewOrSend(modal, answerContext(modal, kindModule(modal.record)))) {
    showModalError({ text: 'Answer every question first.', code: 'incomplete' });
  }
}

/** Run a POST/DELETE for the open modal: lock it, then close on success or show the error. */
async function runAction(modal, call) {
  modal.busy = true;
  modal.goneWhileBusy = null;
  showModalError(null);
  renderModalFooterState();
  const result = await call();
  modal.busy = false;
  if (state.modal !== modal) return; // closed meanwhile
  if (result.ok) {
    forget(modal.id);
    $('response-text').value = '';
    closeModal();
    return;
  }
  const failure = describeFailure(result);
  showModalError(failure);
  if (modal.goneWhileBusy) {
    goneFromModal(modal.goneWhileBusy.record, modal.goneWhileBusy.how);
  } else if (failure.code === 'already_resolved' || failure.code === 'not_found') {
    state.requests.delete(modal.id);
    goneFromModal(null, null);
    scheduleRender();
  }
  renderModalFooterState();
}
