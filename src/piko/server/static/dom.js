/* Building the page: data from the server (agent and terminal text) only ever goes in with text nodes
 * and attributes, never as HTML. */

import { HIDDEN_CHARS, charMark } from './marks.js';

export const $ = (id) => document.getElementById(id);

/** `s` as text nodes, each hidden character a highlighted <mark class="hidden-char">. */
export function revealNodes(s) {
  const text = String(s);
  const nodes = [];
  let last = 0;
  for (const m of text.matchAll(HIDDEN_CHARS)) {
    if (m.index > last) nodes.push(document.createTextNode(text.slice(last, m.index)));
    nodes.push(el('mark', { className: 'hidden-char', attrs: { title: 'invisible character' } }, charMark(m[0])));
    last = m.index + m[0].length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

/** Create an element. props: className, text (hidden characters shown as marks), attrs {}, dataset {},
 * on {event: fn}; children: nodes or strings (as given). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined && props.text !== null) node.append(...revealNodes(props.text));
  for (const [k, v] of Object.entries(props.attrs || {})) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const [k, v] of Object.entries(props.dataset || {})) {
    if (v !== undefined && v !== null) node.dataset[k] = String(v);
  }
  for (const [ev, fn] of Object.entries(props.on || {})) node.addEventListener(ev, fn);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A control where keys are typed text, not shortcuts. */
export function isTypingTarget(node) {
  if (!node || !(node instanceof Element)) return false;
  if (node.isContentEditable) return true;
  const tag = node.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  return !['button', 'submit', 'reset', 'checkbox', 'radio'].includes((node.type || '').toLowerCase());
}

/** A fine pointer (mouse): focusing a text box on open does not pop up a keyboard. */
export function finePointer() {
  return Boolean(window.matchMedia && window.matchMedia('(pointer: fine)').matches);
}
