import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import type { Rubric, Values } from "../rubric/types";

export interface DimensionFocus {
  /** The question number keys act on: explicit state, moved by keys, clicks and answers. */
  activeDim: string | null;
  setActiveDim(name: string): void;
  /**
   * Focus a question: its checked control, else its first control, else its frame. `scroll`
   * brings it into view (not on a new item: a phone would scroll past the prompt).
   */
  focusDimension(name: string, options?: { scroll?: boolean }): void;
  /** Once the values next change, focus this question (its checked control moved, or it just appeared). */
  refocusAfterChange(name: string): void;
  /** The fieldset that holds the questions. */
  rubricRef: RefObject<HTMLFieldSetElement | null>;
}

/** The question frame that holds the focus, if any. */
export function focusedFrame(): HTMLElement | null | undefined {
  return (document.activeElement as HTMLElement | null)?.closest<HTMLElement>("[data-dimension]");
}

/** Focus is nowhere the annotator chose: on the page itself, or on a control that went away. */
function focusIsLoose(): boolean {
  const active = document.activeElement;
  return !active || active === document.body || !active.isConnected || !!active.closest("fieldset:disabled");
}

/** Which question is active, and moving the focus between questions. */
export function useDimensionFocus(rubric: Rubric, values: Values, names: string[]): DimensionFocus {
  const [activeDim, setActiveDim] = useState<string | null>(() => rubric.dimensions[0]?.name ?? null);
  const rubricRef = useRef<HTMLFieldSetElement>(null);

  const focusDimension = useCallback((name: string, { scroll = true }: { scroll?: boolean } = {}) => {
    const frame = rubricRef.current?.querySelector<HTMLElement>(`[data-dimension="${CSS.escape(name)}"]`);
    if (!frame) return;
    const target =
      frame.querySelector<HTMLElement>("[data-focus-target]:checked") ??
      frame.querySelector<HTMLElement>("[data-focus-target]") ??
      frame;
    target.focus({ preventScroll: true });
    if (scroll) frame.scrollIntoView?.({ block: "nearest" });
    setActiveDim(name);
  }, []);

  // An answer changed the questions: move focus where the answer said (a number key moved the
  // checked radio, a question opened, or a hotkey answered and the next one is up).
  const refocus = useRef<string | null>(null);
  useEffect(() => {
    if (refocus.current) focusDimension(refocus.current);
    refocus.current = null;
  }, [values, focusDimension]);
  const refocusAfterChange = useCallback((name: string) => {
    refocus.current = name;
  }, []);

  // A new item: start on its first question, unless the annotator is already somewhere.
  useEffect(() => {
    const first = rubric.dimensions[0]?.name;
    if (first && focusIsLoose()) focusDimension(first, { scroll: false });
  }, [focusDimension, rubric]);

  // The active question went away (its parent's answer changed): its parent takes over.
  const activeRef = useRef(activeDim);
  activeRef.current = activeDim;
  const namesKey = names.join(",");
  useEffect(() => {
    const active = activeRef.current;
    if (!active || names.includes(active)) return;
    const parent = rubric.dimensions.find((d) => d.name === active)?.show_if?.dimension;
    const fallback = parent && names.includes(parent) ? parent : names[0];
    if (fallback) focusDimension(fallback, { scroll: false });
  }, [namesKey, focusDimension, rubric]);

  // After any click, focus goes back to the active question rather than to <body>, so the
  // next Tab or number key goes on from there. A text selection in the output is kept.
  useEffect(() => {
    function restore() {
      if (!focusIsLoose() || !activeRef.current) return;
      const selection = window.getSelection();
      const range = selection && selection.rangeCount > 0 && !selection.isCollapsed ? selection.getRangeAt(0) : null;
      focusDimension(activeRef.current, { scroll: false });
      if (range && selection && (selection.rangeCount === 0 || selection.isCollapsed)) {
        selection.removeAllRanges();
        selection.addRange(range);
      }
    }
    function onPointerUp() {
      setTimeout(restore, 0);
    }
    document.addEventListener("pointerup", onPointerUp, true);
    return () => document.removeEventListener("pointerup", onPointerUp, true);
  }, [focusDimension]);

  return { activeDim, setActiveDim, focusDimension, refocusAfterChange, rubricRef };
}
