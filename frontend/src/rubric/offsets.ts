/**
 * Character offsets. The DOM and JavaScript strings count UTF-16 code units; the server
 * (Python) counts code points and checks `text[start:end]`. Everything that leaves the browser
 * is in code points; everything that touches the DOM is converted back.
 */

export interface TextRange {
  start: number; // code points, inclusive
  end: number; // code points, exclusive
  text: string;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** UTF-16 index → code point index. */
export function toCodePoints(text: string, utf16Index: number): number {
  let count = 0;
  for (let i = 0; i < utf16Index && i < text.length; i++) {
    if (!(isLowSurrogate(text.charCodeAt(i)) && i > 0 && isHighSurrogate(text.charCodeAt(i - 1)))) count++;
  }
  return count;
}

/** Code point index → UTF-16 index. */
export function toUtf16(text: string, codePointIndex: number): number {
  let i = 0;
  for (let cp = 0; cp < codePointIndex && i < text.length; cp++) {
    i += isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1)) ? 2 : 1;
  }
  return i;
}

/** Python's text[start:end] for code point offsets. */
export function sliceCodePoints(text: string, start: number, end: number): string {
  return text.slice(toUtf16(text, start), toUtf16(text, end));
}

/** The UTF-16 offset of a DOM boundary point within the text nodes of `container`. */
function textPosition(container: Node, node: Node, offset: number, total: number): number {
  if (!container.contains(node)) {
    // A selection that runs past the container is clamped to it.
    return container.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_PRECEDING ? 0 : total;
  }
  const point = document.createRange();
  point.setStart(node, offset);
  point.collapse(true);
  const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
  let pos = 0;
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (t === node) return pos + offset;
    if (point.comparePoint(t, 0) >= 0) break;
    pos += (t as Text).length;
  }
  return pos;
}

/**
 * The current selection as code point offsets into `text`, which `container` renders as text
 * nodes only. Whitespace at either end is trimmed; null when nothing of the text is selected.
 */
export function selectionRange(
  container: HTMLElement,
  text: string,
  selection: Selection | null = window.getSelection(),
): TextRange | null {
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  if (!range.intersectsNode(container)) return null;
  let start = textPosition(container, range.startContainer, range.startOffset, text.length);
  let end = textPosition(container, range.endContainer, range.endOffset, text.length);
  if (start > end) [start, end] = [end, start];
  // Never split a surrogate pair.
  if (start > 0 && isLowSurrogate(text.charCodeAt(start)) && isHighSurrogate(text.charCodeAt(start - 1))) start--;
  if (end < text.length && isLowSurrogate(text.charCodeAt(end)) && isHighSurrogate(text.charCodeAt(end - 1))) end++;
  while (start < end && /\s/.test(text[start]!)) start++;
  while (end > start && /\s/.test(text[end - 1]!)) end--;
  if (start >= end) return null;
  return { start: toCodePoints(text, start), end: toCodePoints(text, end), text: text.slice(start, end) };
}

/** Letters, digits and marks, and the apostrophes and hyphens inside words ("don't", "well-known"). */
const WORD_CHAR = /[\p{L}\p{N}\p{M}_]/u;
const JOINER = /['’\-]/u;
const DIGIT = /\p{N}/u;

function isWordAt(chars: string[], i: number): boolean {
  const c = chars[i];
  if (c === undefined) return false;
  if (WORD_CHAR.test(c)) return true;
  const before = chars[i - 1] ?? "";
  const after = chars[i + 1] ?? "";
  // A joiner counts only between two word characters; a separator inside a number ("10,000", "3.5") too.
  if (JOINER.test(c)) return WORD_CHAR.test(before) && WORD_CHAR.test(after);
  return (c === "," || c === ".") && DIGIT.test(before) && DIGIT.test(after);
}

/**
 * Widen [start, end) (code points) to whole words: an end inside a word moves to the word's
 * end, a start inside one to its start. Punctuation and spaces at either end are left out.
 */
export function snapToWords(text: string, start: number, end: number): TextRange | null {
  const chars = Array.from(text);
  let s = Math.max(0, start);
  let e = Math.min(chars.length, end);
  while (s < e && !isWordAt(chars, s)) s++;
  while (e > s && !isWordAt(chars, e - 1)) e--;
  if (s >= e) {
    // Only punctuation was selected: keep it as it was (minus spaces).
    s = start;
    e = end;
    while (s < e && /\s/.test(chars[s]!)) s++;
    while (e > s && /\s/.test(chars[e - 1]!)) e--;
    if (s >= e) return null;
    return { start: s, end: e, text: chars.slice(s, e).join("") };
  }
  while (s > 0 && isWordAt(chars, s - 1)) s--;
  while (e < chars.length && isWordAt(chars, e)) e++;
  return { start: s, end: e, text: chars.slice(s, e).join("") };
}

/** The words of the text as code point ranges, in order (for moving a selection by word). */
export function wordRanges(text: string): { start: number; end: number }[] {
  const chars = Array.from(text);
  const out: { start: number; end: number }[] = [];
  let i = 0;
  while (i < chars.length) {
    if (!isWordAt(chars, i)) {
      i++;
      continue;
    }
    const start = i;
    while (i < chars.length && isWordAt(chars, i)) i++;
    out.push({ start, end: i });
  }
  return out;
}

/** Select [start, end) (code points of `text`) inside `container`, which renders `text` as text nodes. */
export function selectCodePoints(container: HTMLElement, text: string, start: number, end: number): void {
  const from = toUtf16(text, start);
  const to = toUtf16(text, end);
  const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let pos = 0;
  let startSet = false;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const len = (n as Text).length;
    if (!startSet && from <= pos + len) {
      range.setStart(n, from - pos);
      startSet = true;
    }
    if (startSet && to <= pos + len) {
      range.setEnd(n, to - pos);
      break;
    }
    pos += len;
  }
  const selection = window.getSelection();
  if (!selection || !startSet) return;
  selection.removeAllRanges();
  selection.addRange(range);
}
