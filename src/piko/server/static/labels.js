/* What a request is called on screen: its kind, project, tool, one-line summary and how it was resolved.
 *
 * The summary and the resolution sentence are the server's (the record's `summary` and `resolution`),
 * defined once for the web UI and `piko respond`; they are never worked out again here.
 */

import { isObject, oneLine, revealText } from './marks.js';

const KIND_LABELS = { permission: 'Permission', question: 'Question', idle: 'Idle', notice: 'Notice', elicitation: 'MCP input' };

export function kindOf(n) {
  return KIND_LABELS[n.kind] ? n.kind : 'notice';
}

export function kindLabel(n) {
  return KIND_LABELS[kindOf(n)];
}

function basename(path) {
  const parts = String(path).split('/').filter(Boolean);
  return parts.length ? parts[parts.length - 1] : '';
}

/** "project · env", falling back to the tmux session or the cwd's last folder. */
export function projectLabel(n) {
  const parts = [n.project_name, n.env_name].filter((p) => typeof p === 'string' && p.trim());
  if (parts.length) return parts.join(' · ');
  if (n.tmux_session) return String(n.tmux_session);
  if (n.cwd) return basename(n.cwd) || String(n.cwd);
  return 'unknown project';
}

/** A stable hue per project, so cards of one project share a colour. */
export function projectHue(label) {
  let h = 0;
  for (let i = 0; i < label.length; i += 1) h = (h * 31 + label.charCodeAt(i)) >>> 0;
  return h % 360;
}

/** The questions of an AskUserQuestion request. */
export function questionsOf(n) {
  const qs = isObject(n.tool_input) && Array.isArray(n.tool_input.questions) ? n.tool_input.questions : [];
  return qs.filter(isObject);
}

/** The tool name shown beside the summary ('' when there is none worth showing). */
export function toolLabel(n) {
  if (kindOf(n) === 'question') return questionsOf(n).length > 1 ? `${questionsOf(n).length} questions` : '';
  if (kindOf(n) === 'elicitation' && isObject(n.detail) && n.detail.server) return `MCP ${n.detail.server}`;
  return n.tool_name ? String(n.tool_name) : '';
}

/** One line saying what is asked: the server's summary (a server without the field: its message). */
export function summaryOf(n) {
  return oneLine(typeof n.summary === 'string' ? n.summary : (n.message || n.title || ''));
}

/** A sentence saying how a request that left the inbox was resolved: the server's `resolution`
 * (a server without the field: its status and `resolved_via`). */
export function resolutionOf(record, how) {
  const said = typeof record.resolution === 'string' ? record.resolution.trim() : '';
  if (said) return revealText(/[.!?]$/.test(said) ? said : `${said}.`);
  if (how === 'dismissed' || record.status === 'dismissed') return 'It was dismissed.';
  const via = typeof record.resolved_via === 'string' ? record.resolved_via : '';
  return via ? revealText(`It was resolved (${via}).`) : 'It is no longer pending.';
}

/** Where a request comes from, for the modal's subtitle: project, tmux session, folder. */
export function placeOf(n) {
  const where = [projectLabel(n)];
  if (n.tmux_session && n.tmux_session !== where[0]) where.push(`tmux ${n.tmux_session}`);
  if (n.cwd) where.push(String(n.cwd));
  return where.join(' — ');
}
