import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import type { Assignment, CampaignDetail, Progress } from "../api/queries";
import { BlurGate, REVEAL_KEY } from "../care/BlurGate";
import { HelpOverlay } from "../keyboard/HelpOverlay";
import type { DimensionContext, Highlight } from "../rubric/kind";
import { selectCodePoints, selectionRange } from "../rubric/offsets";
import { kindOf } from "../rubric/registry";
import { RubricForm } from "../rubric/RubricForm";
import {
  applicableDimensions,
  dimensionTitle,
  nextActive,
  pruneValues,
  type Rubric,
  type Values,
} from "../rubric/types";
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
  /** "edit": correcting a submitted item (its values to start from; no skip). */
  mode?: "label" | "edit";
  startValues?: Values;
  /** Shown in the header: e.g. the recent items button. */
  headerExtra?: ReactNode;
  /** Skip with a reason (optional): the header's "Skip with reason" form. */
  onSkipWithReason?(reason: string): void;
  /** Leave the edit view. */
  onCancel?(): void;
  /** Ctrl+Z with nothing to undo on this item (e.g. undo the last skip). */
  onUndoFallback?(): void;
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
  mode = "label",
  startValues,
  headerExtra,
  onSkipWithReason,
  onCancel,
  onUndoFallback,
}: Props) {
  const item = assignment.item;
  const editing = mode === "edit";
  const annotation = useAnnotation(editing ? `edit.${assignment.id}` : assignment.id, rubric, startValues);
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
      select: (start: number, end: number) => {
        if (outputRef.current) selectCodePoints(outputRef.current, item.text, start, end);
      },
      notify: setStatus,
    }),
    [item.text],
  );

  const applicable = applicableDimensions(rubric, values);
  const names = applicable.map((d) => d.name);
  const highlights = useMemo(() => {
    const out: Highlight[] = [];
    for (const dim of applicableDimensions(rubric, values)) {
      out.push(...(kindOf(dim.type)?.highlights?.(dim, values[dim.name]) ?? []));
    }
    return out;
  }, [rubric, values]);

  const focus = useDimensionFocus(rubric, values, names);
  const { focusDimension, refocusAfterChange } = focus;

  // Any answer (a click too) that opens a conditional question makes it the active one.
  const answer = useCallback(
    (name: string, value: unknown) => {
      const opened = nextActive(rubric, values, name, value, false);
      if (opened) refocusAfterChange(opened);
      setValue(name, value);
    },
    [rubric, values, refocusAfterChange, setValue],
  );

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
    names,
    annotation,
    busy,
    focus,
    context,
    notify: setStatus,
    submit: doSubmit,
    skip: editing ? () => false : doSkip,
    undoFallback: onUndoFallback,
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
        onSkip={editing ? undefined : doSkip}
        onSkipWithReason={editing || !onSkipWithReason ? undefined : (r) => !busy && onSkipWithReason(r)}
        extra={headerExtra}
      />

      <Instructions campaignId={campaign.id} markdown={campaign.instructions} />

      {editing ? (
        <div className="alert alert-info" role="status">
          <span>
            Editing your submitted answer. Saving keeps the earlier answer as a revision and counts the new one.
          </span>
          <button type="button" className="btn" onClick={onCancel}>
            Back to labeling
          </button>
        </div>
      ) : (
        <LeaseWarning expiresAt={assignment.expires_at} />
      )}

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
              onChange={answer}
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
              {pending === "submit" ? (editing ? "Saving…" : "Submitting…") : editing ? "Save changes" : "Submit"}{" "}
              <kbd>Enter</kbd>
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

      {helpOpen && (
        <HelpOverlay
          onClose={() => setHelpOpen(false)}
          letters={
            (campaign.blur_outputs ?? "off") === "off"
              ? letterHelp
              : [...letterHelp, { key: REVEAL_KEY.toUpperCase(), title: "Reveal a blurred output (while it is blurred)" }]
          }
        />
      )}
    </div>
  );
}
