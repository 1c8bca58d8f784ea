/* "for 3m 12s": how long a session has been in its state, ticking each second with one timer for the
 * whole page (every label carries its start in data-since). */

const TICK_MS = 1000;

export function sinceOf(s) {
  const t = Date.parse(s && s.since);
  return Number.isFinite(t) ? t : 0;
}

export function formatFor(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `for ${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `for ${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `for ${h}h ${m % 60}m`;
  return `for ${Math.floor(h / 24)}d ${h % 24}h`;
}

export function forText(s, now = Date.now()) {
  const t = sinceOf(s);
  return t ? formatFor(now - t) : '';
}

function tick() {
  if (document.hidden) return;
  const now = Date.now();
  for (const node of document.querySelectorAll('.for[data-since]')) {
    const t = Number(node.dataset.since);
    const text = t ? formatFor(now - t) : '';
    if (node.textContent !== text) node.textContent = text;
  }
}

let timer = null;

/** Start the one timer (idempotent). */
export function startTicking() {
  if (timer === null) timer = setInterval(tick, TICK_MS);
}
