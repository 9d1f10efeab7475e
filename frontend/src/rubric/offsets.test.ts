import { describe, expect, it } from "vitest";
import { selectionRange, sliceCodePoints, toCodePoints, toUtf16 } from "./offsets";

function select(startNode: Node, startOffset: number, endNode: Node, endOffset: number) {
  const range = document.createRange();
  range.setStart(startNode, startOffset);
  range.setEnd(endNode, endOffset);
  const sel = window.getSelection()!;
  sel.removeAllRanges();
  sel.addRange(range);
}

describe("offsets", () => {
  const text = "I 😀 love 👩‍👩‍👧 and hate";

  it("converts between UTF-16 and code points", () => {
    const u16 = text.indexOf("love");
    expect(u16).toBe(5);
    expect(toCodePoints(text, u16)).toBe(4);
    expect(toUtf16(text, 4)).toBe(5);
    expect(sliceCodePoints(text, 4, 8)).toBe("love");
    // Python: len(text) == 23 and text.index("hate") == 19
    expect(toCodePoints(text, text.length)).toBe(23);
  });

  it("gives code point offsets for a selection after an emoji", () => {
    const div = document.createElement("div");
    div.textContent = text;
    document.body.append(div);
    const node = div.firstChild!;
    select(node, text.indexOf("hate"), node, text.indexOf("hate") + 4);
    expect(selectionRange(div, text)).toEqual({ start: 19, end: 23, text: "hate" });
    div.remove();
  });

  it("counts across several text nodes and element boundaries, and trims whitespace", () => {
    const div = document.createElement("div");
    const parts = ["😀 one ", "two", " three"];
    div.append(parts[0]!);
    const mark = document.createElement("mark");
    mark.append(parts[1]!);
    div.append(mark, parts[2]!);
    document.body.append(div);
    const full = parts.join("");
    // From inside the first text node (before "one ") to after the mark, as an element boundary.
    select(div.firstChild!, 3, div, 2);
    expect(selectionRange(div, full)).toEqual({ start: 2, end: 9, text: "one two" });
    div.remove();
  });

  it("never splits a surrogate pair and ignores selections outside the container", () => {
    const div = document.createElement("div");
    div.textContent = "a😀b";
    const other = document.createElement("p");
    other.textContent = "elsewhere";
    document.body.append(div, other);
    select(div.firstChild!, 2, div.firstChild!, 4); // starts inside the emoji
    expect(selectionRange(div, "a😀b")).toEqual({ start: 1, end: 3, text: "😀b" });
    select(other.firstChild!, 0, other.firstChild!, 4);
    expect(selectionRange(div, "a😀b")).toBeNull();
    div.remove();
    other.remove();
  });
});
