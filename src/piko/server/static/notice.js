/* A notice: anything else Claude Code told us (a notification it showed); a typed reply goes to its
 * terminal. Also what a request of a kind this page does not know is shown as. */

import { oneLine, revealText } from './marks.js';
import { placeOf } from './labels.js';
import { messageAndInput } from './tooldetails.js';

export const notice = {
  typed: true, // the reply is typed into the agent's terminal

  title(n) {
    return oneLine(n.title || n.message || 'Notice', 160);
  },

  subtitle(n) {
    return revealText(n.title && n.message ? `${n.message} (${placeOf(n)})` : placeOf(n));
  },

  details(n) {
    return messageAndInput(n, notice.title(n));
  },

  answers() { /* no buttons: the reply box */ },
};
