/* A file change (the record's `detail` of kind "diff") drawn as a unified diff: the path, "+N −M", "new
 * file", a note when the server folded a large diff, then one line per diff line with its class (added,
 * removed, context, hunk header, file header). The block scrolls sideways by itself, never the page. */

import { el } from './dom.js';
import { field } from './tooldetails.js';

function lineClass(line) {
  if (line.startsWith('+++') || line.startsWith('---')) return 'diff-file';
  if (line.startsWith('@@')) return 'diff-hunk';
  if (line.startsWith('+')) return 'diff-add';
  if (line.startsWith('-')) return 'diff-del';
  if (line.startsWith('\\')) return 'diff-note';
  return 'diff-ctx';
}

function count(v) {
  return Number.isFinite(v) ? Number(v) : 0;
}

/** The whole diff's size: the server counts its lines. */
function sizeText(size) {
  if (!Number.isFinite(size) || size <= 0) return '';
  return `${size} ${size === 1 ? 'line' : 'lines'}`;
}

/** The fields of a diff detail: {path, unified, added, removed, new_file, folded,
 * size (the whole diff's line count)}. */
export function diffDetails(detail) {
  const unified = typeof detail.unified === 'string' ? detail.unified : '';
  const lines = unified.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const stats = el('span', { className: 'diff-stats' },
    el('span', { className: 'diff-stat-add', text: `+${count(detail.added)}` }),
    ' ',
    el('span', { className: 'diff-stat-del', text: `\u2212${count(detail.removed)}` }));
  const head = el('div', { className: 'diff-head' },
    el('code', { className: 'path', text: String(detail.path ?? '') }),
    stats,
    detail.new_file ? el('span', { className: 'diff-badge', text: 'new file' }) : null);
  const body = el('pre', { className: 'diff', attrs: { tabindex: '0', 'aria-label': 'Unified diff' } },
    el('span', { className: 'diff-lines' },
      ...lines.map((line) => el('span', { className: `diff-line ${lineClass(line)}`, text: line || ' ' }))));
  const parts = [field('Change', head, body)];
  if (detail.folded) {
    const size = sizeText(detail.size);
    parts.push(el('p', { className: 'muted diff-folded', text: `The diff was cut here${size ? `: the whole diff is ${size}` : ''}. The terminal shows the rest.` }));
  }
  return parts;
}
