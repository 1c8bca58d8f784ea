/* What a tool call would do, from the record's `detail` (worked out by the server): a diff, a plan, an
 * MCP tool's server, tool and arguments, a web address or query, or the raw input. A record without a
 * `detail` (an older server) or of a kind this page does not know falls back to tooldetails.js. */

import { diffDetails } from './diffview.js';
import { el } from './dom.js';
import { isObject } from './marks.js';
import { planDetails } from './plan.js';
import { field } from './tooldetails.js';
import { valueTree } from './valuetree.js';

/** The record's detail when it is one this page draws, else null. */
export function detailOf(n) {
  const d = n && isObject(n.detail) ? n.detail : null;
  return d && ['diff', 'plan', 'mcp', 'web', 'raw'].includes(d.kind) ? d : null;
}

function toolField(n) {
  return n.tool_name ? field('Tool', el('code', { className: 'tool-name', text: n.tool_name })) : null;
}

function rawInput(input) {
  return field('Input', el('pre', { className: 'code json', text: JSON.stringify(input ?? {}, null, 2), attrs: { tabindex: '0' } }));
}

/** The detail fields of a permission request `n`; null when it has no detail this page draws. */
export function detailFields(n) {
  const d = detailOf(n);
  if (!d) return null;
  const input = isObject(n.tool_input) ? n.tool_input : {};
  switch (d.kind) {
    case 'diff':
      return [toolField(n), ...diffDetails(d)].filter(Boolean);
    case 'plan':
      return planDetails(d);
    case 'mcp':
      return [
        field('MCP server', el('code', { className: 'mcp-server', text: String(d.server ?? '') })),
        field('Tool', el('code', { className: 'tool-name', text: String(d.tool ?? '') })),
        field('Arguments', el('div', { className: 'tree-box' }, valueTree(d.arguments ?? input))),
      ];
    case 'web':
      return [toolField(n),
        d.url ? field('URL', el('code', { className: 'path web-url', text: String(d.url) })) : null,
        d.query ? field('Query', el('code', { className: 'path web-query', text: String(d.query) })) : null,
        input.prompt ? field('Prompt', el('p', { text: String(input.prompt) })) : null,
      ].filter(Boolean);
    default:
      return [toolField(n), rawInput(n.tool_input)].filter(Boolean);
  }
}
