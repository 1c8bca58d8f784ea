/* "Yes, and don't ask again" with a choice: each of the record's `suggestions` ({index, kind, label}) as
 * a checkbox, all checked at first; the choice is kept on the open modal across redraws. */

import { el } from './dom.js';
import { isObject } from './marks.js';

const KIND_NAMES = { rule: 'Rule', directory: 'Folder', mode: 'Mode', other: 'Other' };

/** The record's suggestions that can be shown, or []. */
export function suggestionsOf(n) {
  return Array.isArray(n.suggestions)
    ? n.suggestions.filter((s) => isObject(s) && Number.isInteger(s.index))
    : [];
}

/** The indexes chosen on `modal` (all of them until the person changes it). */
export function chosenSuggestions(modal, suggestions) {
  if (!modal.grants) modal.grants = new Set(suggestions.map((s) => s.index));
  return suggestions.map((s) => s.index).filter((i) => modal.grants.has(i));
}

/** The checkbox list. */
export function suggestionPicker(modal, suggestions) {
  chosenSuggestions(modal, suggestions);
  return el('fieldset', { className: 'suggestions', attrs: { id: 'suggestions' } },
    el('legend', { text: 'Don\u2019t ask again for:' }),
    ...suggestions.map((s) => {
      const box = el('input', {
        attrs: { type: 'checkbox', checked: modal.grants.has(s.index) },
        dataset: { index: String(s.index) },
        on: {
          change: (e) => {
            if (e.target.checked) modal.grants.add(s.index); else modal.grants.delete(s.index);
          },
        },
      });
      const kind = KIND_NAMES[s.kind] || 'Other';
      return el('label', { className: 'suggestion', dataset: { kind: String(s.kind ?? 'other') } },
        box,
        el('span', { className: 'suggestion-kind', text: kind }),
        el('span', { className: 'suggestion-label', text: String(s.label ?? '') }));
    }));
}
