import { describe, expect, it } from "vitest";
import { selectionRange, sliceCodePoints, snapToWords, toCodePoints, toUtf16, wordRanges } from "./offsets";

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

describe("snapToWords", () => {
  const text = "It is approximately 10,000 feet tall, says 𝑥-ray man.";
  it("widens an end inside a word to the word's end, and leaves out trailing punctuation", () => {
    const start = Array.from(text.slice(0, text.indexOf("approx"))).length;
    const end = Array.from(text.slice(0, text.indexOf("10,000") + 2)).length; // "…10"
    expect(snapToWords(text, start, end)?.text).toBe("approximately 10,000");
    const tall = Array.from(text.slice(0, text.indexOf("tall") + 5)).length; // "tall,"
    expect(snapToWords(text, start, tall)?.text).toBe("approximately 10,000 feet tall");
  });
  it("counts code points, as the rubric stores offsets", () => {
    const start = Array.from(text.slice(0, text.indexOf("-ray"))).length; // inside "𝑥-ray"
    const snapped = snapToWords(text, start, start + 2)!;
    expect(snapped.text).toBe("𝑥-ray");
    expect(Array.from(text).slice(snapped.start, snapped.end).join("")).toBe("𝑥-ray");
  });
  it("splits the text into words for moving by word", () => {
    expect(wordRanges("Hi, 10,000 men.").map((w) => Array.from("Hi, 10,000 men.").slice(w.start, w.end).join(""))).toEqual([
      "Hi",
      "10,000",
      "men",
    ]);
  });
});
