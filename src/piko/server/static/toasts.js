/* Toasts: a short-lived note in the page for each new request (click: open it). */

import { $, el } from './dom.js';
import { kindLabel, kindOf, projectLabel, summaryOf, toolLabel } from './labels.js';

const TOAST_MS = 6000;
export const MAX_TOASTS = 3;

const toastsById = new Map(); // request id -> toast element

/** A toast for request `n` (`open(id)` opens it), or, without `n`, one saying `text`. */
export function showToast(n, text, open) {
  const container = $('toasts');
  while (container.children.length >= MAX_TOASTS) removeToast(container.firstElementChild);
  const heading = n ? `New ${kindLabel(n).toLowerCase()} request · ${projectLabel(n)}` : text;
  const body = n ? [toolLabel(n), summaryOf(n)].filter(Boolean).join(': ') : '';
  const toast = el('div', { className: 'toast', attrs: { role: 'status' }, dataset: { id: n ? n.id : undefined } },
    el('button', {
      className: 'toast-body',
      attrs: { type: 'button', title: n ? 'Open this request' : 'Dismiss' },
      on: { click: () => { removeToast(toast); if (n) open(n.id); } },
    },
    el('strong', { className: 'toast-title', text: heading }),
    body ? el('span', { className: 'toast-text', text: body }) : null),
    el('button', {
      className: 'toast-close icon-button',
      text: '×',
      attrs: { type: 'button', 'aria-label': 'Close' },
      on: { click: () => removeToast(toast) },
    }));
  if (n) toast.classList.add(`kind-${kindOf(n)}`);
  container.append(toast);
  if (n) toastsById.set(n.id, toast);

  let timer = setTimeout(() => removeToast(toast), TOAST_MS);
  const pause = () => clearTimeout(timer);
  const resume = () => { clearTimeout(timer); timer = setTimeout(() => removeToast(toast), TOAST_MS / 2); };
  toast.addEventListener('mouseenter', pause);
  toast.addEventListener('focusin', pause);
  toast.addEventListener('mouseleave', resume);
  toast.addEventListener('focusout', resume);
}

function removeToast(toast) {
  if (!toast) return;
  if (toast.dataset.id) toastsById.delete(toast.dataset.id);
  toast.remove();
}

/** The request left the inbox: its toast goes too. */
export function removeToastOf(id) {
  removeToast(toastsById.get(id));
}
