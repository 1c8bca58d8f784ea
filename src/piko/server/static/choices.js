/* Option buttons in the response modal (a permission's decisions, a dialog's numbered options, a
 * question's answers): built alike, numbered 1-9 in the order shown, focus kept across redraws. */

import { $, el } from './dom.js';

/** A button saying `label` (and `description`); `onChoose()` on click. */
export function optionButton(label, description, onChoose, { className = '', dataset = {}, attrs = {} } = {}) {
  return el('button', {
    className: `option${className ? ` ${className}` : ''}`,
    attrs: { type: 'button', ...attrs },
    dataset,
    on: { click: onChoose },
  },
  el('kbd', { className: 'opt-num', attrs: { 'aria-hidden': 'true' } }),
  el('span', { className: 'opt-label', text: label }),
  description ? el('span', { className: 'opt-desc', text: description }) : null);
}

export function optionButtons() {
  return [...$('modal').querySelectorAll('button.option')];
}

/** Digits 1-9 and the little numbers on the buttons follow the buttons' order on screen. */
export function numberOptionButtons() {
  optionButtons().forEach((button, i) => {
    const num = button.querySelector('.opt-num');
    if (num) num.textContent = i < 9 ? String(i + 1) : '';
  });
}

/** Which option button has focus (its index), to give it back after a redraw. */
export function focusedOption() {
  const active = document.activeElement;
  if (!active || !active.classList || !active.classList.contains('option')) return null;
  return optionButtons().indexOf(active);
}

export function refocusOption(index) {
  if (index === null || index < 0) return;
  const buttons = optionButtons();
  if (buttons[index]) buttons[index].focus({ preventScroll: true });
}
