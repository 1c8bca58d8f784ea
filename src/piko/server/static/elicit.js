/* An MCP elicitation: an MCP server asks the person for input through Claude Code (the record's `detail`
 * kind "elicitation": the server, its message, the form's fields). Shown as a form built from the fields
 * (text, number, checkbox, a select for a choice), answered with Accept (the form's content), Decline or
 * Cancel, which go to Claude Code's waiting Elicitation hook only: no key is ever typed for it.
 *
 * What the person typed is kept in modal.elicit (field name -> value) so a redraw keeps it. */

import { optionButton } from './choices.js';
import { $, el } from './dom.js';
import { isObject, revealText } from './marks.js';
import { placeOf } from './labels.js';

const TYPES = ['string', 'number', 'integer', 'boolean', 'other'];

function detailOf(n) {
  const d = n.detail;
  return isObject(d) && d.kind === 'elicitation' ? d : null;
}

/** The form's fields, each checked for the shape the server gives. */
export function fieldsOf(n) {
  const d = detailOf(n);
  const fields = d && Array.isArray(d.fields) ? d.fields : [];
  return fields.filter((f) => isObject(f) && typeof f.name === 'string' && TYPES.includes(f.type));
}

function labelOf(field) {
  return typeof field.title === 'string' && field.title ? field.title : field.name;
}

function choicesOf(field) {
  if (!Array.isArray(field.enum)) return null;
  const labels = Array.isArray(field.enum_labels) && field.enum_labels.length === field.enum.length
    ? field.enum_labels : field.enum;
  return field.enum.map((value, i) => ({ value: String(value), label: String(labels[i]) }));
}

/** The value a field starts with: the person's, else the schema's default, else empty. */
function startValue(values, field) {
  if (values.has(field.name)) return values.get(field.name);
  if (field.type === 'boolean') return field.default === true;
  return field.default === undefined || field.default === null ? '' : String(field.default);
}

function fieldControl(modal, field) {
  const values = modal.elicit;
  const id = `elicit-${field.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const keep = (value) => { values.set(field.name, value); };
  const value = startValue(values, field);
  const attrs = { id, name: field.name, required: field.required && field.type !== 'boolean' };
  let control;
  const choices = choicesOf(field);
  if (field.type === 'boolean') {
    control = el('input', { attrs: { ...attrs, type: 'checkbox' }, on: { change: (e) => keep(e.target.checked) } });
    control.checked = Boolean(value);
  } else if (choices) {
    control = el('select', { attrs, on: { change: (e) => keep(e.target.value) } },
      el('option', { attrs: { value: '' }, text: field.required ? 'Choose…' : '(none)' }),
      ...choices.map((c) => el('option', { attrs: { value: c.value }, text: c.label })));
    control.value = choices.some((c) => c.value === value) ? value : '';
  } else if (field.type === 'number' || field.type === 'integer') {
    control = el('input', {
      attrs: { ...attrs, type: 'number', step: field.type === 'integer' ? '1' : 'any',
        min: typeof field.minimum === 'number' ? field.minimum : null,
        max: typeof field.maximum === 'number' ? field.maximum : null },
      on: { input: (e) => keep(e.target.value) },
    });
    control.value = value;
  } else {
    control = el('input', {
      attrs: { ...attrs, type: 'text', autocomplete: 'off',
        minlength: typeof field.min_length === 'number' ? field.min_length : null,
        maxlength: typeof field.max_length === 'number' ? field.max_length : null },
      on: { input: (e) => keep(e.target.value) },
    });
    control.value = value;
  }
  const label = el('label', { className: 'elicit-label', attrs: { for: id } },
    el('span', { className: 'elicit-title', text: labelOf(field) }),
    field.required ? el('span', { className: 'elicit-required', text: 'required', attrs: { 'aria-hidden': 'true' } }) : null);
  const description = typeof field.description === 'string' && field.description
    ? el('span', { className: 'elicit-description muted', text: field.description }) : null;
  return el('div', { className: `elicit-field elicit-${field.type}`, dataset: { field: field.name } },
    field.type === 'boolean' ? el('div', { className: 'elicit-check' }, control, label) : label,
    field.type === 'boolean' ? null : control,
    description);
}

/** The content of an Accept, read off the form; a sentence instead when a required field is empty or a
 * number is not one. */
function contentOf(modal, n) {
  const content = {};
  for (const field of fieldsOf(n)) {
    const node = document.getElementById(`elicit-${field.name.replace(/[^A-Za-z0-9_-]/g, '_')}`);
    if (!node) continue;
    if (field.type === 'boolean') {
      content[field.name] = node.checked;
      continue;
    }
    const raw = node.value;
    if (raw === '') {
      if (field.required) return { error: `Fill in ${labelOf(field)}: it is required.` };
      continue;
    }
    if (field.type === 'number' || field.type === 'integer') {
      const number = Number(raw);
      if (!Number.isFinite(number) || (field.type === 'integer' && !Number.isInteger(number))) {
        return { error: `${labelOf(field)} is ${field.type === 'integer' ? 'a whole number' : 'a number'}.` };
      }
      content[field.name] = number;
    } else {
      content[field.name] = raw;
    }
  }
  return { content };
}

export const elicitation = {
  typed: false, // answered with the form and its buttons, through the hook: nothing is typed

  title(n) {
    const d = detailOf(n);
    return revealText(d && d.server ? `${d.server} asks for your input` : 'An MCP server asks for your input');
  },

  subtitle(n) {
    return revealText(placeOf(n));
  },

  details(n) {
    const d = detailOf(n) || {};
    const parts = [
      el('p', { className: 'elicit-server' }, 'MCP server ', el('code', { text: String(d.server || '?') })),
      el('p', { className: 'elicit-message', text: String(d.message || n.message || '') }),
    ];
    if (d.mode === 'url' && typeof d.url === 'string') {
      parts.push(el('p', { className: 'elicit-url' }, 'It asks you to open: ', el('code', { text: d.url })));
    }
    if (!n.hook_waiting) {
      parts.push(el('p', { className: 'muted elicit-nohook', text: 'No hook is waiting for this answer right now: '
        + 'if none comes back, answer it in the terminal (Dismiss hands the form back to it).' }));
    }
    return parts;
  },

  /** The form, then Accept / Decline / Cancel; `ctx.respond(body)` sends the choice. */
  answers(n, ctx) {
    const modal = ctx.modal;
    if (!(modal.elicit instanceof Map)) modal.elicit = new Map();
    const fields = fieldsOf(n);
    if (fields.length) {
      const form = el('form', { className: 'elicit-form', attrs: { 'aria-label': 'The MCP server\u2019s form', novalidate: true },
        on: { submit: (e) => e.preventDefault() } }, // Enter in a field sends nothing: Accept does
      ...fields.map((field) => fieldControl(modal, field)));
      $('modal-options').append(form); // above its buttons
    }
    const id = modal.id;
    $('modal-options').append(
      optionButton('Accept', fields.length ? 'Send the form to the MCP server' : 'Tell the MCP server yes',
        () => accept(ctx, n), { className: 'decision-allow', dataset: { action: 'accept' } }),
      optionButton('Decline', 'Tell the MCP server no', () => ctx.respond(
        { notification_id: id, elicitation: { action: 'decline' } }), { className: 'decision-deny', dataset: { action: 'decline' } }),
      optionButton('Cancel', 'Dismiss the form without an answer', () => ctx.respond(
        { notification_id: id, elicitation: { action: 'cancel' } }), { dataset: { action: 'cancel' } }),
    );
  },
};

function accept(ctx, n) {
  const read = contentOf(ctx.modal, n);
  if (read.error) {
    ctx.fail(read.error);
    return;
  }
  ctx.respond({ notification_id: ctx.modal.id, elicitation: { action: 'accept', content: read.content } });
}
