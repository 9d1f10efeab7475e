/**
 * Every workspace shortcut, declared once. useWorkspaceKeys handles them (and nothing else);
 * the help overlay renders this list.
 */

export type ActionId =
  | "help"
  | "close"
  | "leaveText"
  | "submit"
  | "skip"
  | "undo"
  | "nextDimension"
  | "prevDimension"
  | "moveWithin"
  | "digit"
  | "label";

interface KeyBinding {
  id: ActionId;
  /** Keys as shown to people. */
  keys: string[];
  description: string;
  match(e: KeyboardEvent): boolean;
  /** Fires even while typing in a text box. */
  whileTyping?: boolean;
  /** Where it fires: the workspace (default), the open help overlay, or both. */
  scope?: "workspace" | "help" | "both";
}

const plain = (e: KeyboardEvent) => !e.ctrlKey && !e.metaKey && !e.altKey;

/** Letters that never label spans because they do something else. */
const RESERVED_LETTERS = new Set(["s"]);

export const KEYMAP: KeyBinding[] = [
  {
    id: "help",
    keys: ["?"],
    description: "Show or hide this list of keys",
    match: (e) => e.key === "?" && !e.ctrlKey && !e.metaKey,
    scope: "both",
  },
  {
    id: "close",
    keys: ["Esc"],
    description: "Close this list",
    match: (e) => e.key === "Escape",
    scope: "help",
  },
  {
    id: "leaveText",
    keys: ["Esc"],
    description: "Leave the text box (keys work again)",
    match: (e) => e.key === "Escape",
    whileTyping: true,
  },
  {
    id: "digit",
    keys: ["1", "…", "9", "0"],
    description: "Pick that option of the active question (0 is the tenth); on a scale, the scale value",
    match: (e) => plain(e) && /^[0-9]$/.test(e.key),
  },
  {
    id: "nextDimension",
    keys: ["Tab"],
    description: "Next question",
    match: (e) => e.key === "Tab" && !e.shiftKey && plain(e),
  },
  {
    id: "prevDimension",
    keys: ["Shift", "Tab"],
    description: "Previous question",
    match: (e) => e.key === "Tab" && e.shiftKey && plain(e),
  },
  {
    id: "moveWithin",
    keys: ["←", "→"],
    description:
      "Move between the options of a question; on a spans question, select the next or previous word of the output (Shift: extend the selection)",
    match: (e) =>
      plain(e) &&
      (["ArrowLeft", "ArrowRight"].includes(e.key) || (!e.shiftKey && ["ArrowUp", "ArrowDown"].includes(e.key))),
  },
  {
    id: "label",
    keys: ["a", "b", "c", "…"],
    description:
      "The letter shown on an option answers that option of its question (the next question becomes active); on a span label, marks the selected output text",
    match: (e) => plain(e) && !e.shiftKey && /^[a-z]$/i.test(e.key) && !RESERVED_LETTERS.has(e.key.toLowerCase()),
  },
  {
    id: "submit",
    keys: ["Enter"],
    description: "Submit (once every required question is answered)",
    match: (e) => e.key === "Enter" && plain(e) && !e.shiftKey,
  },
  {
    id: "skip",
    keys: ["s"],
    description: "Skip this item",
    match: (e) => plain(e) && e.key.toLowerCase() === "s",
  },
  {
    id: "undo",
    keys: ["Ctrl", "Z"],
    description: "Undo the last change (⌘Z on a Mac)",
    match: (e) => (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === "z",
  },
];

/** The letters for span labels, in order, skipping reserved ones and those the rubric took. */
export function assignLetters(count: number, taken: ReadonlySet<string> = new Set()): string[] {
  const letters: string[] = [];
  for (let c = 97; c <= 122 && letters.length < count; c++) {
    const letter = String.fromCharCode(c);
    if (!RESERVED_LETTERS.has(letter) && !taken.has(letter)) letters.push(letter);
  }
  return letters;
}
