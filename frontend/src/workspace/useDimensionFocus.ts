import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import type { Rubric, Values } from "../rubric/types";

export interface DimensionFocus {
  /** The question number keys act on: the one last focused or clicked. */
  activeDim: string | null;
  setActiveDim(name: string): void;
  /** Focus a question: its checked control, else its first control, else its frame. */
  focusDimension(name: string): void;
  /** Once the values next change, focus this question again (its checked control moved). */
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
export function useDimensionFocus(rubric: Rubric, values: Values): DimensionFocus {
  const [activeDim, setActiveDim] = useState<string | null>(() => rubric.dimensions[0]?.name ?? null);
  const rubricRef = useRef<HTMLFieldSetElement>(null);

  const focusDimension = useCallback((name: string) => {
    const frame = rubricRef.current?.querySelector<HTMLElement>(`[data-dimension="${CSS.escape(name)}"]`);
    if (!frame) return;
    const target =
      frame.querySelector<HTMLElement>("[data-focus-target]:checked") ??
      frame.querySelector<HTMLElement>("[data-focus-target]") ??
      frame;
    target.focus();
    setActiveDim(name);
  }, []);

  // A number key picked a radio option: move focus onto it, as arrow keys would.
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
    if (first && focusIsLoose()) focusDimension(first);
  }, [focusDimension, rubric]);

  return { activeDim, setActiveDim, focusDimension, refocusAfterChange, rubricRef };
}
