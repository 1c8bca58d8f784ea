/* What a tool call would do, drawn for the response modal: the command, the file and its new content,
 * the edit, the URL; any other tool's input as JSON. Every text shows its hidden characters as marks. */

import { el } from './dom.js';
import { asText, isObject, oneLine } from './marks.js';

export function field(label, ...content) {
  return el('div', { className: 'field' }, el('div', { className: 'field-label', text: label }), ...content);
}

function codeBlock(text, extraClass = '') {
  return el('pre', { className: `code ${extraClass}`.trim(), text: asText(text), attrs: { tabindex: '0' } });
}

function lineCount(text) {
  const s = asText(text);
  const lines = s ? s.split('\n').length - (s.endsWith('\n') ? 1 : 0) : 0;
  return `${lines} ${lines === 1 ? 'line' : 'lines'}`;
}

function pathField(label, path) {
  return field(label, el('code', { className: 'path', text: path || '' }));
}

function editBlocks(edit) {
  const blocks = [
    field('Replace', codeBlock(edit.old_string, 'diff-old')),
    field('With', codeBlock(edit.new_string, 'diff-new')),
  ];
  if (edit.replace_all) blocks.push(el('p', { className: 'muted', text: 'Every occurrence is replaced.' }));
  return blocks;
}

/** The fields describing a call of `tool` with `input`. */
export function toolDetails(tool, input) {
  const parts = [];
  if (tool) parts.push(field('Tool', el('code', { className: 'tool-name', text: tool })));
  const filePath = input.file_path || input.notebook_path;
  switch (tool) {
    case 'Bash':
      parts.push(field('Command', codeBlock(input.command, 'command')));
      if (input.description) parts.push(field('Description', el('p', { text: input.description })));
      if (input.run_in_background) parts.push(el('p', { className: 'muted', text: 'Runs in the background.' }));
      if (input.timeout) parts.push(el('p', { className: 'muted', text: `Timeout: ${input.timeout} ms` }));
      return parts;
    case 'Write':
      parts.push(pathField('File', filePath));
      parts.push(field(`Content (${lineCount(input.content)})`, codeBlock(input.content, 'file-content')));
      return parts;
    case 'Edit':
      parts.push(pathField('File', filePath));
      parts.push(...editBlocks(input));
      return parts;
    case 'MultiEdit':
      parts.push(pathField('File', filePath));
      (Array.isArray(input.edits) ? input.edits : []).forEach((edit, i) => {
        if (isObject(edit)) parts.push(el('div', { className: 'edit-group' }, el('div', { className: 'field-label', text: `Edit ${i + 1}` }), ...editBlocks(edit)));
      });
      return parts;
    case 'NotebookEdit':
      parts.push(pathField('Notebook', filePath));
      if (input.edit_mode) parts.push(field('Mode', el('p', { text: input.edit_mode })));
      parts.push(field('New source', codeBlock(input.new_source, 'file-content')));
      return parts;
    case 'WebFetch':
      parts.push(pathField('URL', input.url));
      if (input.prompt) parts.push(field('Prompt', el('p', { text: input.prompt })));
      return parts;
    default:
      if (filePath && Object.keys(input).length === 1) {
        parts.push(pathField('File', filePath));
        return parts;
      }
      parts.push(field('Input', codeBlock(JSON.stringify(input, null, 2), 'json')));
      return parts;
  }
}

/** An idle prompt's or a notice's details: its message (unless the title already says it), then the
 * tool call it is about, if any. */
export function messageAndInput(n, title) {
  const input = isObject(n.tool_input) ? n.tool_input : null;
  const parts = [];
  if (n.message && oneLine(n.message, 160) !== title) parts.push(el('p', { className: 'message', text: n.message }));
  if (input && Object.keys(input).length) parts.push(...toolDetails(n.tool_name, input));
  return parts;
}
