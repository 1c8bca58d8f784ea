/* A question (AskUserQuestion): one or more questions, each with its options and "Other" (the person's
 * own words). One single-choice question is answered by its button. Several questions, a multiple
 * choice (checkboxes) or words typed as "Other" are chosen, then reviewed, then sent:
 * {"answers": {question: label | [labels] | the typed words}}.
 *
 * The choice lives on the open modal (kept across redraws):
 *   modal.selections: Map question index -> Set of labels
 *   modal.others:     Map question index -> {on, text}   ("Other" chosen, and its words)
 *   modal.reviewing:  the review step is shown */

import { optionButton } from './choices.js';
import { $, el } from './dom.js';
import { isObject, revealText } from './marks.js';
import { placeOf, questionsOf } from './labels.js';

function otherOf(modal, qi) {
  if (!modal.others) modal.others = new Map();
  if (!modal.others.has(qi)) modal.others.set(qi, { on: false, text: '' });
  return modal.others.get(qi);
}

function usesOther(modal) {
  return Boolean(modal.others) && [...modal.others.values()].some((o) => o.on);
}

function needsSubmit(modal, questions) {
  return questions.length > 1 || questions.some((q) => q.multiSelect) || usesOther(modal);
}

function labelsOf(q) {
  return (Array.isArray(q.options) ? q.options : []).filter(isObject).map((o) => String(o.label ?? ''));
}

export const question = {
  typed: false, // text would be typed into the dialog (the server refuses it): answered with the buttons

  title(n) {
    const count = questionsOf(n).length;
    return count > 1 ? `Claude has ${count} questions` : 'Claude has a question';
  },

  subtitle(n) {
    return revealText(n.message ? `${n.message} — ${placeOf(n)}` : placeOf(n));
  },

  details() {
    return []; // the questions are the answer controls
  },

  /** The questions (or the review of the answers); `ctx.respond(body)` sends the answers. */
  answers(n, ctx) {
    const modal = ctx.modal;
    const questions = questionsOf(n);
    if (modal.reviewing && collectAnswers(modal)) {
      $('questions').append(reviewNode(modal, questions, ctx));
    } else {
      modal.reviewing = false;
      questions.forEach((q, qi) => $('questions').append(questionNode(modal, q, qi, ctx)));
    }
    showSubmit(modal, questions);
  },
};

function questionNode(modal, q, qi, ctx) {
  const selected = modal.selections.get(qi) || new Set();
  const other = otherOf(modal, qi);
  const legend = el('legend', { className: 'question-legend' },
    q.header ? el('span', { className: 'question-header', text: q.header }) : null,
    el('span', { className: 'question-text', text: q.question || '' }));
  const opts = (Array.isArray(q.options) ? q.options : []).filter(isObject).map((opt) => {
    const label = String(opt.label ?? '');
    if (q.multiSelect) {
      return el('label', { className: 'choice-check', dataset: { label, question: String(qi) } },
        el('input', {
          attrs: { type: 'checkbox', checked: selected.has(label) },
          on: { change: (e) => toggle(modal, qi, label, e.target.checked) },
        }),
        el('span', { className: 'opt-label', text: label }),
        opt.description ? el('span', { className: 'opt-desc', text: opt.description }) : null);
    }
    return optionButton(label, opt.description, () => choose(ctx, qi, label), {
      attrs: { 'aria-pressed': String(selected.has(label)) },
      dataset: { label, question: String(qi) },
    });
  });
  const otherId = `other-${qi}`;
  const otherBox = el('input', {
    className: 'other-text',
    attrs: { id: otherId, type: 'text', autocomplete: 'off', value: other.text, placeholder: 'Type your own answer' },
    dataset: { question: String(qi) },
    on: { input: (e) => typeOther(modal, qi, e.target.value) },
  });
  const otherRow = el('div', { className: 'other-row' },
    q.multiSelect
      ? el('input', {
        className: 'other-check',
        attrs: { type: 'checkbox', checked: other.on, 'aria-label': 'Other' },
        on: { change: (e) => setOther(modal, qi, e.target.checked) },
      })
      : null,
    el('label', { attrs: { for: otherId }, text: 'Other:' }),
    otherBox);
  return el('fieldset', { className: 'question', dataset: { question: String(qi), multi: String(Boolean(q.multiSelect)) } },
    legend,
    q.multiSelect ? el('p', { className: 'muted hint', text: 'Choose one or more.' }) : null,
    el('div', { className: q.multiSelect ? 'checks' : 'options' }, ...opts),
    otherRow);
}

function reviewNode(modal, questions, ctx) {
  const answers = collectAnswers(modal);
  const list = el('dl', { className: 'review-list' });
  for (const q of questions) {
    const answer = answers[String(q.question)];
    list.append(el('dt', { text: q.question || '' }),
      el('dd', {}, Array.isArray(answer)
        ? el('ul', {}, ...answer.map((a) => el('li', { text: a })))
        : el('span', { text: answer })));
  }
  return el('section', { className: 'review', attrs: { 'aria-label': 'Review your answers' } },
    el('p', { className: 'review-title', text: 'Check your answers, then send them.' }),
    list,
    el('button', {
      className: 'secondary',
      attrs: { type: 'button', id: 'review-back' },
      text: 'Change answers',
      on: { click: () => { modal.reviewing = false; ctx.redraw(); } },
    }));
}

function choose(ctx, qi, label) {
  const modal = ctx.modal;
  if (modal.busy || modal.gone) return;
  const questions = questionsOf(modal.record);
  const q = questions[qi];
  if (!q) return;
  if (!needsSubmit(modal, questions)) {
    ctx.respond({ notification_id: modal.id, answers: { [String(q.question)]: label } });
    return;
  }
  modal.selections.set(qi, new Set([label]));
  otherOf(modal, qi).on = false;
  for (const button of $('questions').querySelectorAll(`button.option[data-question="${qi}"]`)) {
    button.setAttribute('aria-pressed', String(button.dataset.label === label));
  }
  showSubmit(modal, questions);
}

function toggle(modal, qi, label, on) {
  const selected = new Set(modal.selections.get(qi) || []);
  if (on) selected.add(label); else selected.delete(label);
  modal.selections.set(qi, selected);
  showSubmit(modal, questionsOf(modal.record));
}

function setOther(modal, qi, on) {
  otherOf(modal, qi).on = on;
  showSubmit(modal, questionsOf(modal.record));
}

/** Words typed as "Other": they become the answer (a single choice's buttons are released). */
function typeOther(modal, qi, text) {
  const other = otherOf(modal, qi);
  other.text = text;
  const q = questionsOf(modal.record)[qi];
  if (q && q.multiSelect) {
    other.on = Boolean(text.trim());
    const box = $('questions').querySelector(`fieldset[data-question="${qi}"] .other-check`);
    if (box) box.checked = other.on;
  } else {
    other.on = Boolean(text.trim());
    if (other.on) {
      modal.selections.delete(qi);
      for (const button of $('questions').querySelectorAll(`button.option[data-question="${qi}"]`)) {
        button.setAttribute('aria-pressed', 'false');
      }
    }
  }
  showSubmit(modal, questionsOf(modal.record));
}

function showSubmit(modal, questions) {
  const button = $('submit-answers');
  button.hidden = !needsSubmit(modal, questions);
  button.textContent = modal.reviewing ? 'Send answers' : 'Review answers';
  updateSubmitState(modal);
}

/** {question: answer} for every question, null until every question has one. A single choice's answer
 * is its label or the words typed as "Other"; a multiple choice's the list of the chosen labels in the
 * order offered, the words typed as "Other" last. */
export function collectAnswers(modal) {
  const questions = questionsOf(modal.record);
  const answers = {};
  for (let qi = 0; qi < questions.length; qi += 1) {
    const q = questions[qi];
    const other = otherOf(modal, qi);
    const words = other.on ? other.text.trim() : '';
    if (other.on && !words) return null;
    const order = labelsOf(q);
    const chosen = [...(modal.selections.get(qi) || [])].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    if (q.multiSelect) {
      const list = words ? [...chosen, other.text] : chosen;
      if (!list.length) return null;
      answers[String(q.question)] = list;
    } else if (words) {
      answers[String(q.question)] = other.text;
    } else if (chosen.length) {
      answers[String(q.question)] = chosen[0];
    } else {
      return null;
    }
  }
  return answers;
}

/** The submit button is enabled once every question has an answer (and nothing is on its way). */
export function updateSubmitState(modal) {
  const button = $('submit-answers');
  if (!modal || button.hidden) return;
  const ready = collectAnswers(modal) !== null;
  button.disabled = !ready || modal.busy || Boolean(modal.gone);
  button.title = ready ? `${button.textContent} (Ctrl+Enter)` : 'Answer every question first';
}

/** The submit button: the first press shows the review, the second sends. */
export function reviewOrSend(modal, ctx) {
  const answers = collectAnswers(modal);
  if (!answers) return false;
  if (!modal.reviewing) {
    modal.reviewing = true;
    ctx.redraw();
    return true;
  }
  ctx.respond({ notification_id: modal.id, answers });
  return true;
}
