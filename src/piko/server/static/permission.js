/* A permission request: may Claude run this tool call? Answered with the decision buttons (Yes, Yes and
 * don't ask again, No), No with an optional message for Claude. What the call would do is the record's
 * `detail` (detailview.js) or, from an older server, its tool_input (tooldetails.js). A plan approval with
 * a `detail` offers the plan choices instead (plan.js); "don't ask again" with `suggestions` lets the
 * person pick which to grant (suggestions.js). */

import { optionButton } from './choices.js';
import { detailFields, detailOf } from './detailview.js';
import { $, el } from './dom.js';
import { isObject, revealText } from './marks.js';
import { placeOf } from './labels.js';
import { planAnswers, planDetails, planFromInput } from './plan.js';
import { chosenSuggestions, suggestionPicker, suggestionsOf } from './suggestions.js';
import { toolDetails } from './tooldetails.js';

function isPlan(n) {
  const d = detailOf(n);
  return Boolean(d && d.kind === 'plan');
}

export const permission = {
  typed: false, // text would be typed into the dialog (the server refuses it): answered with the buttons

  title(n) {
    if (n.tool_name === 'ExitPlanMode') return 'Approve Claude\u2019s plan?';
    return n.tool_name ? revealText(`Allow ${n.tool_name}?`) : 'Claude needs your permission';
  },

  subtitle(n) {
    return revealText(n.message ? `${n.message} — ${placeOf(n)}` : placeOf(n));
  },

  details(n) {
    const fromDetail = detailFields(n);
    if (fromDetail) return fromDetail;
    const plan = n.tool_name === 'ExitPlanMode' ? planFromInput(n) : null;
    if (plan) return planDetails(plan);
    const input = isObject(n.tool_input) ? n.tool_input : null;
    if (!input || !Object.keys(input).length) {
      return [el('p', { className: 'muted', text: `${n.message || 'Claude needs your permission.'} The terminal below shows the details.` })];
    }
    return toolDetails(n.tool_name, input);
  },

  /** The decision buttons (or the plan choices); `ctx.respond(body)` sends the choice. */
  answers(n, ctx) {
    if (isPlan(n)) {
      planAnswers(ctx);
      return;
    }
    const options = Array.isArray(n.options) ? n.options.filter(isObject) : [];
    const suggestions = suggestionsOf(n);
    for (const opt of options) {
      const decision = typeof opt.decision === 'string' ? opt.decision : '';
      // with a choice of grants, the button says only what is ticked (its own label names them all)
      const label = decision === 'always' && suggestions.length
        ? 'Yes, and don\u2019t ask again for what is ticked'
        : opt.label || opt.key || decision || '?';
      $('modal-options').append(optionButton(label, opt.description, () => choose(ctx, opt, suggestions), {
        className: decision ? `decision-${decision}` : '',
        dataset: { decision: decision || undefined, key: opt.key !== undefined ? opt.key : undefined },
      }));
      // which of the suggestions "don't ask again" grants: picked right under its button
      if (decision === 'always' && suggestions.length) $('modal-options').append(suggestionPicker(ctx.modal, suggestions));
    }
    $('deny-message-row').hidden = !options.some((opt) => opt.decision === 'deny');
  },
};

function choose(ctx, opt, suggestions) {
  const id = ctx.modal.id;
  if (typeof opt.decision === 'string' && opt.decision) {
    const body = { notification_id: id, decision: opt.decision };
    const message = $('deny-message').value.trim();
    if (opt.decision === 'deny' && message) body.message = message;
    if (opt.decision === 'always' && suggestions.length) {
      body.suggestions = chosenSuggestions(ctx.modal, suggestions);
      if (!body.suggestions.length) {
        ctx.fail('Tick at least one thing not to be asked about again, or choose Yes.');
        return;
      }
    }
    ctx.respond(body);
    return;
  }
  ctx.respond({ notification_id: id, response: String(opt.key !== undefined ? opt.key : opt.label), response_type: 'option' });
}

/** The No button, if it can be pressed (Enter in the message box presses it). */
export function denyButton() {
  const deny = $('modal-options').querySelector('button.option[data-decision="deny"]');
  return deny && !deny.disabled ? deny : null;
}
