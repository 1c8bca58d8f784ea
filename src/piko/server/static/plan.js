/* A plan approval (ExitPlanMode): the plan rendered as Markdown (markdown.js: text nodes only), and,
 * when the server describes the plan (`detail.kind === "plan"`), the choices the terminal offers: approve
 * and auto-accept edits, approve and approve edits by hand, or keep planning with feedback for Claude. */

import { optionButton } from './choices.js';
import { $, el } from './dom.js';
import { isObject } from './marks.js';
import { renderMarkdown } from './markdown.js';
import { field } from './tooldetails.js';

const CHOICES = [
  { plan: 'auto', label: 'Yes, and auto-accept edits', description: 'Claude leaves plan mode and edits files without asking' },
  { plan: 'manual', label: 'Yes, and manually approve edits', description: 'Claude leaves plan mode and asks before each edit' },
  { plan: 'keep', label: 'No, keep planning', description: 'Claude stays in plan mode; tell it what to change' },
];

/** The plan's fields: the Markdown, then where it comes from (a file's path as it is). */
export function planDetails(detail) {
  const markdown = typeof detail.markdown === 'string' ? detail.markdown : '';
  const path = typeof detail.path === 'string' ? detail.path : '';
  return [
    field('Plan',
      markdown.trim()
        ? el('div', { className: 'plan-body markdown' }, ...renderMarkdown(markdown))
        : el('p', { className: 'muted', text: 'The plan is empty. The terminal below shows it.' }),
      path ? el('p', { className: 'plan-source muted' }, 'Plan file: ', el('code', { className: 'path', text: path })) : null),
  ];
}

/** An older record without `detail`: the plan as the hook gave it (tool_input.plan), or null. */
export function planFromInput(n) {
  const input = isObject(n.tool_input) ? n.tool_input : {};
  return typeof input.plan === 'string' ? { kind: 'plan', markdown: input.plan } : null;
}

/** The three plan choices and the feedback box; `ctx.respond(body)` sends the choice. */
export function planAnswers(ctx) {
  const feedback = el('textarea', {
    className: 'plan-feedback',
    attrs: { id: 'plan-feedback', rows: '3', autocomplete: 'off', placeholder: 'What should Claude change in the plan?' },
  });
  const buttons = CHOICES.map((choice) => optionButton(choice.label, choice.description, () => {
    const body = { notification_id: ctx.modal.id, plan: choice.plan };
    if (choice.plan === 'keep' && feedback.value.trim()) body.message = feedback.value; // as typed
    ctx.respond(body);
  }, { className: `plan-${choice.plan}`, dataset: { plan: choice.plan } }));
  $('modal-options').append(...buttons,
    el('div', { className: 'plan-feedback-row' },
      el('label', { attrs: { for: 'plan-feedback' }, text: 'Feedback for Claude if you keep planning' }),
      feedback));
}
