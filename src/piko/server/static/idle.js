/* An idle prompt: Claude finished and waits for the next instruction, answered with a typed reply. */

import { oneLine, revealText } from './marks.js';
import { placeOf } from './labels.js';
import { messageAndInput } from './tooldetails.js';

export const idle = {
  typed: true, // the reply is typed into the agent's prompt

  title(n) {
    return n.message ? oneLine(n.message, 160) : 'Claude is waiting for your input';
  },

  subtitle(n) {
    return revealText(placeOf(n));
  },

  details(n) {
    return messageAndInput(n, idle.title(n));
  },

  answers() { /* no buttons: the reply box */ },
};
