/* Times of requests: "12s ago". */

/** When a request was made, in ms since the epoch (0 when unknown). */
export function timeOf(n) {
  const t = Date.parse(n && n.created_at);
  return Number.isFinite(t) ? t : 0;
}

export function formatAge(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

export function ageText(n, now = Date.now()) {
  const t = timeOf(n);
  return t ? formatAge(now - t) : '';
}

/** Refresh every "12s ago" label in place (they carry their time in data-time). */
export function refreshAgeLabels(root = document) {
  const now = Date.now();
  for (const node of root.querySelectorAll('.age[data-time]')) {
    const t = Number(node.dataset.time);
    if (t) node.textContent = formatAge(now - t);
  }
}
