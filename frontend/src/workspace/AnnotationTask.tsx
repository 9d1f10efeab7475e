import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import type { Assignment, CampaignDetail, Progress } from "../api/queries";
import { BlurGate } from "../care/BlurGate";
import { HelpOverlay } from "../keyboard/HelpOverlay";
import type { DimensionContext, Highlight } from "../rubric/kind";
import { selectionRange } from "../rubric/offsets";
import { kindOf } from "../rubric/registry";
import { RubricForm } from "../rubric/RubricForm";
import { applicableDimensions, dimensionTitle, pruneValues, type Rubric, type Values } from "../rubric/types";
import { Instructions } from "./Instructions";
import { OutputText } from "./OutputText";
import type { Rejection } from "./queue";
import { RejectionAlert, shownErrors } from "./RejectionAlert";
import { LeaseWarning, TaskHeader } from "./TaskHeader";
import { useAnnotation } from "./useAnnotation";
import { useDimensionFocus } from "./useDimensionFocus";
import { useTaskKeys } from "./useTaskKeys";

interface Props {
  campaign: CampaignDetail;
  rubric: Rubric;
  assignment: Assignment;
  progress: Progress;
  /** This item's own submit (or skip) is under way and nothing else is ready to show yet. */
  pending?: "submit" | "skip" | null;
  /** Its last submit was rejected: the errors go next to the questions. */
  rejection?: Rejection | null;
  /** Shown under the instructions (answers to earlier items that were not saved). */
  notices?: ReactNode;
  onSubmit(values: Values, startedAt: string): void;
  onSkip(): void;
  /** The item is on screen (called once, after it mounts). */
  onShown?(): void;
}

export function AnnotationTask({
  campaign,
  rubric,
  assignment,
  progress,
  pending = null,
  rejection = null,
  notices,
  onSubmit,
  onSkip,
  onShown,
}: Props) {
  const item = assignment.item;
  const annotation = useAnnotation(assignment.id, rubric);
  const { values, setValue, undo, canUndo, missing, startedAt } = annotation;
  const busy = pending !== null;

  const [status, setStatus] = useState(annotation.restored ? "Restored your unsaved answers for this item." : "");
  const outputRef = useRef<HTMLDivElement>(null);
  const submitRef = useRef<HTMLButtonElement>(null);

  const context = useMemo<Omit<DimensionContext, "letterKeys">>(
    () => ({
      outputText: item.text,
      getSelection: () => (outputRef.current ? selectionRange(outputRef.current, item.text) : null),
      clearSelection: () => window.getSelection()?.removeAllRanges(),
      notify: setStatus,
    }),
    [item.text],
  );

  const applicable = applicableDimensions(rubric, values);
  const highlights = useMemo(() => {
    const out: Highlight[] = [];
    for (const dim of applicableDimensions(rubric, values)) {
      out.push(...(kindOf(dim.type)?.highlights?.(dim, values[dim.name]) ?? []));
    }
    return out;
  }, [rubric, values]);

  const focus = useDimensionFocus(rubric, values);
  const { focusDimension } = focus;

  const shownRef = useRef(onShown);
  shownRef.current = onShown;
  useEffect(() => {
    shownRef.current?.();
  }, []);

  const doSubmit = useCallback(() => {
    if (busy) return;
    if (missing.length > 0) {
      setStatus(`Answer first: ${missing.map(dimensionTitle).join(", ")}.`);
      focusDimension(missing[0]!.name);
      return;
    }
    setStatus("");
    onSubmit(pruneValues(rubric, values), startedAt);
  }, [busy, missing, focusDimension, onSubmit, rubric, values, startedAt]);

  const doSkip = useCallback(() => {
    if (busy) return;
    setStatus("");
    onSkip();
  }, [busy, onSkip]);

  const { helpOpen, setHelpOpen, letterKeys, letterHelp } = useTaskKeys({
    rubric,
    names: applicable.map((d) => d.name),
    annotation,
    busy,
    focus,
    context,
    notify: setStatus,
    submit: doSubmit,
    skip: doSkip,
    outputRef,
    submitRef,
  });

  return (
    <div className="workspace" aria-busy={busy}>
      <TaskHeader
        campaign={campaign}
        progress={progress}
        startedAt={startedAt}
        busy={busy}
        onHelp={() => setHelpOpen(true)}
        onSkip={doSkip}
      />

      <Instructions campaignId={campaign.id} markdown={campaign.instructions} />

      <LeaseWarning expiresAt={assignment.expires_at} />

      {notices}

      {rejection && <RejectionAlert rejection={rejection} />}

      <div className="ws-grid">
        <div className="ws-texts">
          <section className="panel" aria-labelledby="prompt-title">
            <h2 className="panel-title" id="prompt-title">
              Prompt
            </h2>
            <div className="untrusted prompt-text" data-testid="prompt-text">
              {item.prompt}
            </div>
          </section>
          <section className="panel" aria-labelledby="output-title">
            <h2 className="panel-title" id="output-title">
              Model output
            </h2>
            <BlurGate campaign={campaign} sensitive={item.sensitive}>
              <OutputText ref={outputRef} text={item.text} highlights={highlights} label="Model output" />
            </BlurGate>
          </section>
        </div>

        <section className="panel" aria-labelledby="questions-title">
          <h2 className="panel-title" id="questions-title">
            Questions
          </h2>
          <fieldset disabled={busy} className="rubric-wrap" ref={focus.rubricRef}>
            <RubricForm
              rubric={rubric}
              values={values}
              onChange={setValue}
              errors={shownErrors(rejection, values)}
              context={context}
              letterKeys={letterKeys}
              activeDimension={focus.activeDim}
              onActivate={focus.setActiveDim}
            />
          </fieldset>
          <div className="submit-bar">
            <button
              ref={submitRef}
              type="button"
              className="btn btn-primary"
              onClick={doSubmit}
              disabled={busy || missing.length > 0}
              aria-keyshortcuts="Enter"
              aria-describedby={missing.length ? "missing-list" : undefined}
            >
              {pending === "submit" ? "Submitting…" : "Submit"} <kbd>Enter</kbd>
            </button>
            {pending === "skip" && <span className="muted">Skipping…</span>}
            {missing.length > 0 && (
              <span className="missing" id="missing-list" data-testid="missing">
                Missing: {missing.map(dimensionTitle).join(", ")}
              </span>
            )}
            <button type="button" className="btn btn-link" onClick={undo} disabled={!canUndo || busy} aria-keyshortcuts="Control+Z">
              Undo
            </button>
          </div>
          <p className="hint" role="status" aria-live="polite" data-testid="status">
            {status}
          </p>
        </section>
      </div>

      {helpOpen && <HelpOverlay onClose={() => setHelpOpen(false)} letters={letterHelp} />}
    </div>
  );
}
