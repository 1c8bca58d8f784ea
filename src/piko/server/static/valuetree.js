/* A JSON value as a readable, collapsible tree: each object or array a <details> (open while shallow)
 * listing its keys or indexes, each leaf its value (strings as they are, hidden characters as marks). */

import { el } from './dom.js';
import { isObject } from './marks.js';

const OPEN_DEPTH = 2;

function leaf(value) {
  // a string in quotes (its characters as they are), so "false" is not read as false
  if (typeof value === 'string') return el('span', { className: 'tree-value tree-string', text: `"${value}"` });
  return el('span', { className: `tree-value tree-${value === null ? 'null' : typeof value}`, text: JSON.stringify(value) ?? String(value) });
}

function summaryText(value) {
  if (Array.isArray(value)) return `[${value.length} ${value.length === 1 ? 'item' : 'items'}]`;
  const keys = Object.keys(value).length;
  return `{${keys} ${keys === 1 ? 'key' : 'keys'}}`;
}

function entries(value) {
  return Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
}

function node(key, value, depth) {
  const keyNode = key === null ? null : el('span', { className: 'tree-key', text: key });
  if (!Array.isArray(value) && !isObject(value)) {
    return el('li', { className: 'tree-leaf' }, keyNode, keyNode ? el('span', { className: 'tree-colon', text: ': ' }) : null, leaf(value));
  }
  const children = entries(value);
  const details = el('details', { className: 'tree-branch', attrs: { open: depth < OPEN_DEPTH } },
    el('summary', {}, keyNode, keyNode ? ' ' : null, el('span', { className: 'tree-count', text: summaryText(value) })),
    children.length ? el('ul', { className: 'tree' }, ...children.map(([k, v]) => node(k, v, depth + 1))) : null);
  return el('li', { className: 'tree-node' }, details);
}

/** The tree of `value` (an object's keys at the top level). */
export function valueTree(value) {
  if (isObject(value) || Array.isArray(value)) {
    const items = entries(value);
    if (!items.length) return el('p', { className: 'muted', text: Array.isArray(value) ? 'No items.' : 'No arguments.' });
    return el('ul', { className: 'tree tree-root' }, ...items.map(([k, v]) => node(k, v, 0)));
  }
  return el('ul', { className: 'tree tree-root' }, node(null, value, 0));
}
