/* A question (AskUserQuestion): one or more questions, each with its options. One single-choice question
 * is answered by its button; several questions, or a multiple choice, are chosen then submitted. */

import { optionButton } from './choices.js';
import { $, el } from './dom.js';
import { isObject, revealText } from './marks.js';
import { placeOf, questionsOf } from './labels.js';

function needsSubmit(questions) {
  return questions.length > 1 || questions.some((q) => q.multiSelect);
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

  /** The questions and their option buttons; `ctx.respond(body)` sends the answers. */
  answers(n, ctx) {
    const questions = questionsOf(n);
    const withSubmit = needsSubmit(questions);
    questions.forEach((q, qi) => {
      const selected = ctx.modal.selections.get(qi) || new Set();
      const legend = el('legend', { className: 'question-legend' },
        q.header ? el('span', { className: 'question-header', text: q.header }) : null,
        el('span', { className: 'question-text', text: q.question || '' }));
      const opts = (Array.isArray(q.options) ? q.options : []).filter(isObject).map((opt) => {
        const label = String(opt.label ?? '');
        return optionButton(opt.label ?? '', opt.description, () => choose(ctx, qi, label), {
          attrs: { 'aria-pressed': withSubmit ? String(selected.has(String(opt.label))) : null },
          dataset: { label, question: String(qi) },
        });
      });
      $('questions').append(el('fieldset', { className: 'question', dataset: { question: String(qi) } },
        legend,
        q.multiSelect ? el('p', { className: 'muted hint', text: 'Choose one or more, then Submit.' }) : null,
        el('div', { className: 'options' }, ...opts)));
    });
    $('submit-answers').hidden = !withSubmit;
  },
};

function choose(ctx, qi, label) {
  const modal = ctx.modal;
  if (modal.busy || modal.gone) return;
  const questions = questionsOf(modal.record);
  const q = questions[qi];
  if (!q) return;
  if (!needsSubmit(questions)) {
    ctx.respond({ notification_id: modal.id, answers: { [String(q.question)]: label } });
    return;
  }
  const selected = new Set(modal.selections.get(qi) || []);
  if (q.multiSelect) {
    if (selected.has(label)) selected.delete(label); else selected.add(label);
  } else {
    selected.clear();
    selected.add(label);
  }
  modal.selections.set(qi, selected);
  for (const button of $('questions').querySelectorAll(`button.option[data-question="${qi}"]`)) {
    button.setAttribute('aria-pressed', String(selected.has(button.dataset.label)));
  }
  updateSubmitState(modal);
}

/** {question: "label, label"} for every question, in the order the options were offered; null until
 * every question has an answer. */
export function collectAnswers(modal) {
  const questions = questionsOf(modal.record);
  const answers = {};
  for (let qi = 0; qi < questions.length; qi += 1) {
    const q = questions[qi];
    const chosen = modal.selections.get(qi);
    if (!chosen || !chosen.size) return null;
    const order = (Array.isArray(q.options) ? q.options : []).map((o) => String(o && o.label));
    const labels = [...chosen].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    answers[String(q.question)] = labels.join(', ');
  }
  return answers;
}

/** Submit is enabled once every question has an answer (and nothing is on its way). */
export function updateSubmitState(modal) {
  const button = $('submit-answers');
  if (!modal || button.hidden) return;
  const ready = collectAnswers(modal) !== null;
  button.disabled = !ready || modal.busy || Boolean(modal.gone);
  button.title = ready ? 'Submit (Ctrl+Enter)' : 'Answer every question first';
}
