/* A permission request: may Claude run this tool call? Answered with the decision buttons (Yes, Yes and
 * don't ask again, No), No with an optional message for Claude. */

import { optionButton } from './choices.js';
import { $, el } from './dom.js';
import { isObject, revealText } from './marks.js';
import { placeOf } from './labels.js';
import { toolDetails } from './tooldetails.js';

export const permission = {
  typed: false, // text would be typed into the dialog (the server refuses it): answered with the buttons

  title(n) {
    return n.tool_name ? revealText(`Allow ${n.tool_name}?`) : 'Claude needs your permission';
  },

  subtitle(n) {
    return revealText(n.message ? `${n.message} — ${placeOf(n)}` : placeOf(n));
  },

  details(n) {
    const input = isObject(n.tool_input) ? n.tool_input : null;
    if (!input || !Object.keys(input).length) {
      return [el('p', { className: 'muted', text: `${n.message || 'Claude needs your permission.'} The terminal below shows the details.` })];
    }
    return toolDetails(n.tool_name, input);
  },

  /** The decision buttons; `ctx.respond(body)` sends the choice. */
  answers(n, ctx) {
    const options = Array.isArray(n.options) ? n.options.filter(isObject) : [];
    $('modal-options').append(...options.map((opt) => {
      const decision = typeof opt.decision === 'string' ? opt.decision : '';
      return optionButton(opt.label || opt.key || decision || '?', opt.description, () => choose(ctx, opt), {
        className: decision ? `decision-${decision}` : '',
        dataset: { decision: decision || undefined, key: opt.key !== undefined ? opt.key : undefined },
      });
    }));
    $('deny-message-row').hidden = !options.some((opt) => opt.decision === 'deny');
  },
};

function choose(ctx, opt) {
  const id = ctx.modal.id;
  if (typeof opt.decision === 'string' && opt.decision) {
    const body = { notification_id: id, decision: opt.decision };
    const message = $('deny-message').value.trim();
    if (opt.decision === 'deny' && message) body.message = message;
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
