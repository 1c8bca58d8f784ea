/* Hidden characters shown as marks, and small value helpers for text that came from an agent.
 *
 * Characters that change how text reads without being seen (C0/C1 controls but tab and newline, bidi
 * overrides and isolates, zero-width characters, line/paragraph separators) are shown as a mark such as
 * ⟨U+202E⟩, so what the person reads is what runs.
 */

export const HIDDEN_CHARS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/g;

/** The mark for one hidden character: ⟨U+202E⟩. */
export function charMark(ch) {
  return `⟨U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`;
}

/** `s` with every hidden character written as its mark (for titles, labels, one-line summaries). */
export function revealText(s) {
  return String(s).replace(HIDDEN_CHARS, charMark);
}

export function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A value as text: strings as they are, anything else as JSON, nothing as ''. */
export function asText(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** One line of at most `max` characters, hidden characters marked. */
export function oneLine(s, max = 200) {
  const flat = revealText(asText(s)).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** "no pane to type into" -> "No pane to type into." */
export function sentence(text) {
  const s = String(text).trim();
  const capital = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
