/* The terminal preview: the last lines of the agent's tmux pane, polled every second while it is shown
 * and the tab visible. The response modal reads its request's pane (and looks once more after the request
 * left the inbox: it shows what happened); the fleet's session panel reads its session's pane
 * (`owner.screenPath`, `owner.noun`), whatever the agent is doing. */

import { api, describeFailure, requestPath } from './api.js';
import { $ } from './dom.js';
import { asText, isObject } from './marks.js';
import { state } from './state.js';

const PREVIEW_EVERY_MS = 1000;

/** The preview state a new modal starts with (kept on the modal object). `nodes`: where it is shown
 * (the response modal's, or the fleet's session panel's). */
export function freshPreview(nodes = { pre: $('preview'), status: $('preview-status') }) {
  const preview = { timer: null, text: null, stopped: false, seq: 0, pre: nodes.pre, status: nodes.status };
  preview.pre.textContent = '';
  setPreviewStatus(preview, 'Loading…', 'muted');
  return preview;
}

/** Still shown: the open modal, or an owner that says so itself (the fleet's session panel). */
function isShown(modal) {
  return modal.isShown ? modal.isShown() : state.modal === modal;
}

export function stopPreview(modal) {
  clearTimeout(modal.preview.timer);
}

function setPreviewStatus(preview, text, tone) {
  const node = preview.status;
  node.textContent = text;
  node.dataset.tone = tone || '';
}

/** The screen route `owner` polls: its own (a session's), else its request's. */
function screenPath(owner) {
  return owner.screenPath || `${requestPath(owner.id)}/screen`;
}

/** Poll `modal`'s pane now, then every second until it is closed, gone or there is no pane. */
export async function pollPreview(modal) {
  const preview = modal.preview;
  if (!isShown(modal) || preview.stopped) return;
  clearTimeout(preview.timer);
  const seq = ++preview.seq; // one polling loop per modal, whatever restarted it
  if (!document.hidden) {
    const result = await api('GET', screenPath(modal));
    if (!isShown(modal) || seq !== preview.seq) return;
    showPreviewResult(modal, result);
    if (preview.stopped) return;
  }
  if (modal.gone) return; // one last look after it left the inbox, then stop
  preview.timer = setTimeout(() => pollPreview(modal), PREVIEW_EVERY_MS);
}

function showPreviewResult(modal, result) {
  if (result.ok && isObject(result.data)) {
    const lines = Array.isArray(result.data.lines) ? result.data.lines.map(asText) : [];
    while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
    updatePreviewText(modal, lines.join('\n'));
    if (result.data.pane_alive !== false) setPreviewStatus(modal.preview, 'Live', 'ok');
    else if (!modal.record.tmux_target) setPreviewStatus(modal.preview, 'No tmux pane: this request came from outside tmux', 'muted');
    else setPreviewStatus(modal.preview, "The agent's pane is gone", 'error');
    return;
  }
  if (result.network) {
    setPreviewStatus(modal.preview, 'Preview unavailable, retrying…', 'warn');
    return;
  }
  const failure = describeFailure(result);
  if (failure.code === 'no_pane') {
    setPreviewStatus(modal.preview, `No tmux pane is known for this ${modal.noun || 'request'}`, 'muted');
    modal.preview.stopped = true;
  } else if (failure.code === 'pane_gone') {
    setPreviewStatus(modal.preview, "The agent's pane is gone", 'error');
  } else if (failure.code === 'not_found') {
    setPreviewStatus(modal.preview, `piko server no longer knows this ${modal.noun || 'request'}`, 'muted');
    modal.preview.stopped = true;
  } else {
    setPreviewStatus(modal.preview, failure.text, 'error');
  }
}

/** Show the pane's text; stay at the bottom unless the person scrolled up to read. */
function updatePreviewText(modal, text) {
  if (modal.preview.text === text) return;
  const pre = modal.preview.pre;
  const first = modal.preview.text === null;
  const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
  modal.preview.text = text;
  pre.textContent = text;
  if (first || atBottom) pre.scrollTop = pre.scrollHeight;
}
