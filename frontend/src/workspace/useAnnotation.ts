import { useCallback, useEffect, useMemo, useReducer, useState } from "react";
import { missingRequired, pruneValues, type Rubric, type Values } from "../rubric/types";
import { kindOf } from "../rubric/registry";
import { loadDraft, saveDraft } from "./draft";

interface State {
  values: Values;
  past: Values[];
  /** The dimension of the last coalescing edit (typing), so a burst is one undo step. */
  typingIn: string | null;
}

type Action =
  | { type: "set"; rubric: Rubric; name: string; value: unknown; coalesce: boolean }
  | { type: "undo" };

const HISTORY = 200;

function reducer(state: State, action: Action): State {
  switch (action.type) {
    case "set": {
      const values = pruneValues(action.rubric, { ...state.values, [action.name]: action.value });
      const merge = action.coalesce && state.typingIn === action.name;
      const past = merge ? state.past : [...state.past, state.values].slice(-HISTORY);
      return { values, past, typingIn: action.coalesce ? action.name : null };
    }
    case "undo": {
      const previous = state.past.at(-1);
      if (!previous) return state;
      return { values: previous, past: state.past.slice(0, -1), typingIn: null };
    }
  }
}

/**
 * The values for one assignment: what the annotator sees is what is submitted (values of
 * dimensions that stop applying are dropped), every change can be undone, and the whole state
 * is kept as a draft in localStorage until it is submitted.
 */
export function useAnnotation(assignmentId: number | string, rubric: Rubric, startValues?: Values) {
  const [initial] = useState(() => {
    const draft = loadDraft(assignmentId);
    return {
      values: draft ? pruneValues(rubric, draft.values) : startValues ? pruneValues(rubric, startValues) : {},
      startedAt: draft?.startedAt ?? new Date().toISOString(),
      restored: !!draft && Object.keys(draft.values).length > 0,
    };
  });
  const [state, dispatch] = useReducer(reducer, { values: initial.values, past: [], typingIn: null });

  useEffect(() => {
    saveDraft(assignmentId, state.values, initial.startedAt);
  }, [assignmentId, state.values, initial.startedAt]);

  const setValue = useCallback(
    (name: string, value: unknown) => {
      const dim = rubric.dimensions.find((d) => d.name === name);
      const coalesce = !!(dim && kindOf(dim.type)?.coalesceEdits);
      dispatch({ type: "set", rubric, name, value, coalesce });
    },
    [rubric],
  );
  const undo = useCallback(() => dispatch({ type: "undo" }), []);
  const missing = useMemo(() => missingRequired(rubric, state.values), [rubric, state.values]);

  return {
    values: state.values,
    setValue,
    undo,
    canUndo: state.past.length > 0,
    missing,
    startedAt: initial.startedAt,
    restored: initial.restored,
  };
}

export type Annotation = ReturnType<typeof useAnnotation>;
