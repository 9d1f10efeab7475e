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
