/* Is someone looking at this inbox? The server holds back Web Push while some page says so
 * (`{"type": "presence", "visible": true}` on its WebSocket).
 *
 * A visible tab is not enough: a desk left with the inbox on screen would hold back every push to the
 * phone of the person who walked away. So the page counts as looked at while its tab is visible and the
 * person did something in it (a key, a click, a touch, the pointer moving, scrolling, switching to the tab)
 * within the last IDLE_MS; it tells the server as soon as that changes.
 */

const IDLE_MS = Number(window.PIKO_PRESENCE_IDLE_MS) || 3 * 60 * 1000; // the tests set a shorter one
const ACTIVITY = ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart', 'focus'];

let lastActivity = Date.now();
let reported = null;

/** Visible, and used within IDLE_MS. */
export function attended() {
  return document.visibilityState === 'visible' && Date.now() - lastActivity < IDLE_MS;
}

/** The message for the server; remembered as reported (the connection sends it on every connect). */
export function presenceMessage() {
  reported = attended();
  return JSON.stringify({ type: 'presence', visible: reported });
}

/** Call `send` (which sends presenceMessage) whenever attended() changes: on activity after a pause, on a
 * tab switch, and IDLE_MS after the last activity. */
export function watchPresence(send) {
  const check = () => { if (attended() !== reported) send(); };
  const active = () => { lastActivity = Date.now(); check(); };
  for (const type of ACTIVITY) window.addEventListener(type, active, { capture: true, passive: true });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') lastActivity = Date.now(); // switching to the tab is looking
    send();
  });
  setInterval(check, Math.max(250, Math.min(IDLE_MS / 4, 15_000)));
}
