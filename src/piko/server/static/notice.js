/* A notice: something Claude Code told the person that needs nobody's answer (a notification of a type
 * Piko does not know as a dialog): shown as such, with Dismiss, blocking nothing. A request of a kind
 * this page does not know is also shown here, but keeps the reply box (its words go to its terminal). */

import { el } from './dom.js';
import { oneLine, revealText } from './marks.js';
import { placeOf } from './labels.js';
import { messageAndInput } from './tooldetails.js';

export const notice = {
  typed(n) {
    return n.kind !== 'notice'; // a real notice needs no answer; an unknown kind may want a reply
  },

  title(n) {
    return oneLine(n.title || n.message || 'Notice', 160);
  },

  subtitle(n) {
    return revealText(n.title && n.message ? `${n.message} (${placeOf(n)})` : placeOf(n));
  },

  details(n) {
    const parts = messageAndInput(n, notice.title(n));
    if (n.kind === 'notice') {
      parts.push(el('p', { className: 'muted notice-note', text: 'Nothing to answer: this is for your information. Dismiss it when you have read it.' }));
    }
    return parts;
  },

  answers() { /* no buttons: Dismiss (and, for an unknown kind, the reply box) */ },
};
