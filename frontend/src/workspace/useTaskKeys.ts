import { useMemo, useState, type RefObject } from "react";
import type { LetterHelp } from "../keyboard/HelpOverlay";
import { assignLetters } from "../keyboard/keymap";
import { useWorkspaceKeys, type KeyHandlers } from "../keyboard/useWorkspaceKeys";
import type { DimensionContext, LetterAction } from "../rubric/kind";
import { kindOf } from "../rubric/registry";
import { dimensionApplies, dimensionTitle, nextActive, type Rubric } from "../rubric/types";
import type { Annotation } from "./useAnnotation";
import { focusedFrame, type DimensionFocus } from "./useDimensionFocus";

interface LetterBinding {
  key: string;
  dimension: string;
  action: LetterAction;
}

/** The rubric's own hotkeys first (validated unique by the server), then letters for the rest. */
function letterBindings(rubric: Rubric): LetterBinding[] {
  const pending: Omit<LetterBinding, "key">[] = [];
  for (const dim of rubric.dimensions) {
    for (const action of kindOf(dim.type)?.letterActions?.(dim) ?? []) pending.push({ dimension: dim.name, action });
  }
  const taken = new Set<string>();
  for (const b of pending) if (b.action.hotkey) taken.add(b.action.hotkey.toLowerCase());
  const free = pending.filter((b) => !b.action.hotkey);
  const letters = assignLetters(free.length, taken);
  const out: LetterBinding[] = [];
  let next = 0;
  for (const b of pending) {
    if (b.action.hotkey) out.push({ ...b, key: b.action.hotkey.toLowerCase() });
    else if (next < letters.length) out.push({ ...b, key: letters[next++]! });
  }
  return out;
}

/** The letters of the rubric's letter actions: per dimension (shown on its controls) and for the key list. */
function useLetterBindings(rubric: Rubric) {
  const bindings = useMemo(() => letterBindings(rubric), [rubric]);
  const letterKeys = useMemo(() => {
    const byDim: Record<string, string[]> = {};
    for (const b of bindings) (byDim[b.dimension] ??= []).push(b.key);
    return byDim;
  }, [bindings]);
  const letterHelp: LetterHelp[] = bindings.map((b) => ({ key: b.key, title: b.action.title }));
  return { bindings, letterKeys, letterHelp };
}

function leaveText(e: KeyboardEvent) {
  const frame = (e.target as HTMLElement).closest<HTMLElement>("[data-dimension]");
  if (frame) frame.focus();
  else (e.target as HTMLElement).blur();
}

/** Arrow keys between the controls of the focused question (radios move on their own). */
function moveWithinFrame(e: KeyboardEvent): false | void {
  const target = e.target as HTMLElement;
  const frame = focusedFrame();
  if (!frame || (target instanceof HTMLInputElement && target.type === "radio")) return false;
  const controls = [...frame.querySelectorAll<HTMLElement>("input, button, textarea")].filter(
    (el) => !(el as HTMLInputElement).disabled,
  );
  const i = controls.indexOf(target);
  if (i < 0) return false;
  const step = e.key === "ArrowLeft" || e.key === "ArrowUp" ? -1 : 1;
  controls[(i + step + controls.length) % controls.length]?.focus();
}

/** Tab and Shift+Tab go from question to question (and on to the submit button). */
function questionNav(
  names: string[],
  { activeDim, focusDimension }: DimensionFocus,
  outputRef: RefObject<HTMLElement | null>,
  submitRef: RefObject<HTMLElement | null>,
): KeyHandlers {
  return {
    nextDimension: () => {
      const frame = focusedFrame();
      const active = document.activeElement;
      if (frame) {
        const i = names.indexOf(frame.dataset.dimension!);
        if (i + 1 < names.length) focusDimension(names[i + 1]!);
        else submitRef.current?.focus();
        return;
      }
      if (!active || active === document.body || outputRef.current?.contains(active)) {
        focusDimension(activeDim && names.includes(activeDim) ? activeDim : names[0]!);
        return;
      }
      return false;
    },
    prevDimension: () => {
      const frame = focusedFrame();
      if (frame) {
        const i = names.indexOf(frame.dataset.dimension!);
        if (i > 0) {
          focusDimension(names[i - 1]!);
          return;
        }
        return false;
      }
      if (document.activeElement === submitRef.current && names.length) {
        focusDimension(names[names.length - 1]!);
        return;
      }
      return false;
    },
  };
}

interface Args {
  rubric: Rubric;
  /** The questions on screen, in order. */
  names: string[];
  annotation: Annotation;
  /** A submit or skip is under way: keys that change the item do nothing. */
  busy: boolean;
  focus: DimensionFocus;
  context: Omit<DimensionContext, "letterKeys">;
  notify(message: string): void;
  submit(): void;
  skip(): void;
  undoFallback?(): void;
  outputRef: RefObject<HTMLElement | null>;
  submitRef: RefObject<HTMLElement | null>;
}

/**
 * The annotation task's side of the workspace keys: what each action of the keymap does to
 * this item. Also the letters assigned to letter actions, and whether the key list is open.
 */
export function useTaskKeys(args: Args) {
  const { rubric, names, annotation, busy, focus, context, notify } = args;
  const { values, setValue, undo, canUndo } = annotation;
  const { activeDim } = focus;
  const [helpOpen, setHelpOpen] = useState(false);

  const { bindings, letterKeys, letterHelp } = useLetterBindings(rubric);

  useWorkspaceKeys(
    {
      help: () => setHelpOpen((open) => !open),
      close: () => setHelpOpen(false),
      leaveText,
      digit: (e) => {
        if (busy || !activeDim || !names.includes(activeDim)) return false;
        const dim = rubric.dimensions.find((d) => d.name === activeDim)!;
        const next = kindOf(dim.type)?.digit?.(dim, values[dim.name], Number(e.key));
        if (next === undefined) return false;
        const focused = document.activeElement;
        const opened = nextActive(rubric, values, dim.name, next, false);
        if (opened) focus.refocusAfterChange(opened);
        else if (focused instanceof HTMLInputElement && focused.type === "radio" && focusedFrame()?.dataset.dimension === dim.name) {
          focus.refocusAfterChange(dim.name);
        }
        setValue(dim.name, next);
      },
      ...questionNav(names, focus, args.outputRef, args.submitRef),
      moveWithin: (e) => {
        // On a spans question, arrows move the selection in the output by word (Shift extends).
        const dim = activeDim && names.includes(activeDim) ? rubric.dimensions.find((d) => d.name === activeDim) : null;
        const arrow = dim && kindOf(dim.type)?.arrow;
        const horizontal = e.key === "ArrowLeft" || e.key === "ArrowRight";
        if (dim && arrow && horizontal && !busy) {
          return arrow(dim, { ...context, letterKeys: letterKeys[dim.name] ?? [] }, e.key === "ArrowLeft" ? -1 : 1, e.shiftKey);
        }
        if (e.shiftKey) return false;
        return moveWithinFrame(e);
      },
      label: (e) => {
        if (busy) return false;
        const binding = bindings.find((b) => b.key === e.key.toLowerCase());
        if (!binding) return false;
        const dim = rubric.dimensions.find((d) => d.name === binding.dimension)!;
        if (!dimensionApplies(dim, values) || !names.includes(dim.name)) {
          notify(`“${dimensionTitle(dim)}” does not apply to this item.`);
          return;
        }
        const next = binding.action.run(values[dim.name], { ...context, letterKeys: letterKeys[dim.name] ?? [] });
        if (next === undefined) return;
        // A hotkey answers its question from anywhere; the question it opened (or else the
        // next one, for a single answer) becomes the active one, so digits go on from there.
        if (binding.action.answers) {
          const target = nextActive(rubric, values, dim.name, next, binding.action.answers === "one");
          focus.refocusAfterChange(target ?? dim.name);
        }
        setValue(dim.name, next);
      },
      submit: () => args.submit(),
      skip: () => args.skip(),
      undo: () => {
        if (busy) return;
        if (!canUndo && args.undoFallback) args.undoFallback();
        else if (!canUndo) notify("Nothing to undo.");
        else {
          undo();
          notify("Undone.");
        }
      },
    },
    { helpOpen },
  );

  return { helpOpen, setHelpOpen, letterKeys, letterHelp };
}
