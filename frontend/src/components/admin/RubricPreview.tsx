/**
 * The annotator's view of a rubric draft, live: the workspace's own RubricForm and dimension
 * components (imported, unchanged) over a sample output. Answers here are a sandbox, kept only
 * in this component, so the admin can open conditional questions and try every control.
 */
import { useMemo, useRef, useState } from "react";
import { RubricForm } from "../../rubric/RubricForm";
import { selectCodePoints, selectionRange } from "../../rubric/offsets";
import { parseRubric, pruneValues, type Values } from "../../rubric/types";
import type { Rubric } from "./rubricDraft";

export const SAMPLE_OUTPUT =
  "This is a sample model output. Select a few words of it to try the span questions; in the workspace, annotators see the real output here.";

export function RubricPreview({ rubric }: { rubric: Rubric }) {
  const outputRef = useRef<HTMLDivElement>(null);
  const [values, setValues] = useState<Values>({});
  const [active, setActive] = useState<string | null>(null);
  const [note, setNote] = useState("");
  // The editor's draft type is stricter than the workspace's; read it the way the workspace reads a rubric.
  const shown = useMemo(() => {
    const parsed = parseRubric(JSON.parse(JSON.stringify(rubric)));
    // Mid-edit a name can be empty or taken twice: preview each name once.
    const seen = new Set<string>();
    const dimensions = parsed.dimensions.filter((d) => d.name !== "" && !seen.has(d.name) && !!seen.add(d.name));
    return { dimensions };
  }, [rubric]);
  const context = useMemo(
    () => ({
      outputText: SAMPLE_OUTPUT,
      getSelection: () => (outputRef.current ? selectionRange(outputRef.current, SAMPLE_OUTPUT) : null),
      clearSelection: () => window.getSelection()?.removeAllRanges(),
      select: (start: number, end: number) => {
        if (outputRef.current) selectCodePoints(outputRef.current, SAMPLE_OUTPUT, start, end);
      },
      notify: setNote,
    }),
    [],
  );
  const pruned = pruneValues(shown, values);

  return (
    <section className="adm-preview" aria-labelledby="rubric-preview-title" data-testid="rubric-preview">
      <div className="adm-panel-head">
        <h3 id="rubric-preview-title">Preview: what annotators see</h3>
        <button type="button" className="btn btn-small adm-push" onClick={() => setValues({})} disabled={Object.keys(values).length === 0}>
          Clear preview answers
        </button>
      </div>
      <p className="hint">Updates as you edit. Answers here are not saved; conditional questions open as in the workspace.</p>
      <div className="adm-preview-output untrusted output-text" ref={outputRef} aria-label="Sample model output">
        {SAMPLE_OUTPUT}
      </div>
      {shown.dimensions.length === 0 ? (
        <p className="muted">Add a dimension to see it here.</p>
      ) : (
        <RubricForm
          rubric={shown}
          values={pruned}
          onChange={(name, value) => setValues((v) => ({ ...v, [name]: value }))}
          errors={{}}
          context={context}
          letterKeys={{}}
          activeDimension={active}
          onActivate={setActive}
          idPrefix="preview"
        />
      )}
      <p className="hint" role="status" aria-live="polite">
        {note}
      </p>
    </section>
  );
}
