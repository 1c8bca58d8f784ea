/* A small Markdown renderer for plans, built from DOM nodes with text only: raw HTML in the Markdown is
 * shown as the text it is, never parsed; links are shown as their text and address, never clickable.
 *
 * Blocks: ATX headings, paragraphs, bullet and numbered lists (one level of nesting by indent), fenced
 * code blocks, block quotes, horizontal rules. Inline: `code`, **strong**, *em* / _em_, [text](url).
 * Every text goes through el()'s text, so hidden characters are shown as marks. */

import { el } from './dom.js';

const INLINE = /(`+)([\s\S]*?)\1|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|\b_([^_]+)_\b|\[([^\]]*)\]\(([^)\s]*)\)/g;

/** Inline Markdown of `text` as nodes. */
export function inlineNodes(text) {
  const nodes = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) nodes.push(el('span', { text: text.slice(last, m.index) }));
    if (m[1]) nodes.push(el('code', { text: m[2] }));
    else if (m[3] !== undefined || m[4] !== undefined) nodes.push(el('strong', {}, ...inlineNodes(m[3] ?? m[4])));
    else if (m[5] !== undefined || m[6] !== undefined) nodes.push(el('em', {}, ...inlineNodes(m[5] ?? m[6])));
    else nodes.push(el('span', { className: 'md-link' }, ...inlineNodes(m[7]),
      el('span', { className: 'md-url', text: ` (${m[8]})` })));
    last = m.index + m[0].length;
  }
  if (last < text.length) nodes.push(el('span', { text: text.slice(last) }));
  return nodes;
}

const LIST_ITEM = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;
const FENCE = /^\s*(```|~~~)(.*)$/;

/** The block nodes of Markdown `source`. */
export function renderMarkdown(source) {
  const lines = String(source).replace(/\r\n?/g, '\n').split('\n');
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) { body.push(lines[i]); i += 1; }
      i += 1;
      out.push(el('pre', { className: 'code md-code', attrs: { tabindex: '0' } }, el('code', { text: body.join('\n') })));
      continue;
    }
    const heading = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      out.push(el(`h${Math.min(6, heading[1].length + 2)}`, { className: 'md-heading' }, ...inlineNodes(heading[2])));
      i += 1;
      continue;
    }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) { out.push(el('hr')); i += 1; continue; }
    if (!line.trim()) { i += 1; continue; }
    if (LIST_ITEM.test(line)) {
      const start = i;
      while (i < lines.length && (LIST_ITEM.test(lines[i]) || (/^\s+\S/.test(lines[i]) && i > start))) i += 1;
      out.push(listNode(lines.slice(start, i)));
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quoted = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) { quoted.push(lines[i].replace(/^\s*>\s?/, '')); i += 1; }
      out.push(el('blockquote', {}, ...renderMarkdown(quoted.join('\n'))));
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !LIST_ITEM.test(lines[i])
      && !/^\s{0,3}#{1,6}\s/.test(lines[i]) && !/^\s*>/.test(lines[i])) {
      para.push(lines[i].trim());
      i += 1;
    }
    out.push(el('p', {}, ...inlineNodes(para.join(' '))));
  }
  return out;
}

/** A list from its lines; items indented deeper than the first become a nested list. */
function listNode(lines) {
  const first = LIST_ITEM.exec(lines[0]);
  const indent = first[1].length;
  const list = el(/^\d/.test(first[2]) ? 'ol' : 'ul', { className: 'md-list' });
  let item = null;
  let nested = [];
  const flush = () => {
    if (item && nested.length) item.append(listNode(nested));
    nested = [];
  };
  for (const line of lines) {
    const m = LIST_ITEM.exec(line);
    if (m && m[1].length <= indent) {
      flush();
      item = el('li', {}, ...inlineNodes(m[3]));
      list.append(item);
    } else if (m) {
      nested.push(line);
    } else if (item) {
      if (nested.length) nested.push(line); else item.append(' ', ...inlineNodes(line.trim()));
    }
  }
  flush();
  return list;
}
