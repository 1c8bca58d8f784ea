/* Keyboard: j/k and arrows move between cards (requests, or agents in the fleet), Enter opens, f switches
 * between the inbox and the fleet, n opens the oldest, s sorts, ? helps; in a request 1-9 pick an option,
 * Enter sends the reply, Ctrl/Cmd+Enter sends or submits. */

import { optionButtons } from './choices.js';
import { $, isTypingTarget } from './dom.js';
import { sessionCards } from './fleet.js';
import { openSession, sessionOpen } from './fleetpanel.js';
import { fleet, toggleView } from './fleetstate.js';
import { cards } from './inbox.js';
import { openModal, openNext, sendText, submitAnswers } from './modal.js';
import { denyButton } from './permission.js';
import { state, toggleSort } from './state.js';

export function openHelp() {
  const help = $('help');
  if (!help.open) help.showModal();
  $('help-close').focus();
}

function moveCardFocus(delta) {
  const list = fleet.view === 'fleet' ? sessionCards() : cards();
  if (!list.length) return false;
  const index = list.indexOf(document.activeElement);
  let next;
  if (delta === Infinity) next = list.length - 1;
  else if (delta === -Infinity) next = 0;
  else if (index < 0) next = delta > 0 ? 0 : list.length - 1;
  else next = Math.max(0, Math.min(list.length - 1, index + delta));
  list[next].focus();
  list[next].scrollIntoView({ block: 'nearest' });
  return true;
}

export function onKeyDown(e) {
  if ($('help').open) return; // the help dialog closes with Esc (native) or its button
  if (sessionOpen() && !state.modal) return; // the session panel: Esc closes it, its box takes Enter
  if (state.modal) {
    onModalKey(e);
    return;
  }
  if (isTypingTarget(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
  const onCard = e.target instanceof Element && e.target.classList.contains('request-card');
  const onSession = e.target instanceof Element && e.target.classList.contains('session-card');
  let handled = true;
  switch (e.key) {
    case 'j': case 'ArrowDown': handled = moveCardFocus(1); break;
    case 'k': case 'ArrowUp': handled = moveCardFocus(-1); break;
    case 'Home': handled = (onCard || onSession) && moveCardFocus(-Infinity); break;
    case 'End': handled = (onCard || onSession) && moveCardFocus(Infinity); break;
    case 'Enter': case ' ':
      handled = onCard || onSession;
      if (onCard) openModal(e.target.dataset.id);
      if (onSession) openSession(e.target.dataset.id);
      break;
    case 'f': toggleView(); break;
    case 'n': openNext(); break;
    case 's': toggleSort(); break;
    case '?': openHelp(); break;
    default: handled = false;
  }
  if (handled) e.preventDefault();
}

function onModalKey(e) {
  const target = e.target;
  const composing = e.isComposing || e.keyCode === 229;
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !composing) {
    e.preventDefault();
    primaryAction(target);
    return;
  }
  if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !composing) {
    if (target === $('response-text')) {
      e.preventDefault();
      sendText();
      return;
    }
    if (target === $('deny-message')) {
      e.preventDefault();
      const deny = denyButton();
      if (deny) deny.click();
      return;
    }
  }
  if (isTypingTarget(target) || e.altKey || e.ctrlKey || e.metaKey) return;
  if (/^[1-9]$/.test(e.key)) {
    const button = optionButtons()[Number(e.key) - 1];
    if (button && !button.disabled) {
      e.preventDefault();
      button.focus({ preventScroll: true });
      button.click();
    }
    return;
  }
  if (e.key === 'n') {
    e.preventDefault();
    openNext();
  } else if (e.key === '?') {
    e.preventDefault();
    openHelp();
  }
}

/** Ctrl/Cmd+Enter: send the reply if there is one, else submit the answers, else deny with the message
 * (or keep planning with the feedback). */
function primaryAction(target) {
  if ($('response-text').value.trim()) {
    sendText();
    return;
  }
  if (!$('submit-answers').hidden) {
    submitAnswers();
    return;
  }
  if (target === $('deny-message')) {
    const deny = denyButton();
    if (deny) deny.click();
    return;
  }
  if (target && target.id === 'plan-feedback') {
    const keep = $('modal-options').querySelector('button.option[data-plan="keep"]');
    if (keep && !keep.disabled) keep.click();
    return;
  }
  sendText(); // says "Type a reply first"
}
