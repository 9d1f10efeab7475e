import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { ApiError } from "../api/client";
import type { Assignment, CampaignDetail, Progress } from "../api/queries";
import { ProgressBar } from "../components/ProgressBar";
import { HelpOverlay, type LetterHelp } from "../keyboard/HelpOverlay";
import { assignLetters } from "../keyboard/keymap";
import { useWorkspaceKeys } from "../keyboard/useWorkspaceKeys";
import type { DimensionContext, Highlight, LetterAction } from "../rubric/kind";
import { selectionRange } from "../rubric/offsets";
import { kindOf } from "../rubric/registry";
import { RubricForm } from "../rubric/RubricForm";
import {
  applicableDimensions,
  dimensionApplies,
  dimensionTitle,
  pruneValues,
  type Rubric,
  type Values,
} from "../rubric/types";
import { Instructions } from "./Instructions";
import { OutputText } from "./OutputText";
import type { Rejection } from "./queue";
import { useAnnotation } from "./useAnnotation";
import { formatDuration, useNow } from "./useNow";

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

interface LetterBinding {
  key: string;
  dimension: string;
  action: LetterAction;
}

function letterBindings(rubric: Rubric): LetterBinding[] {
  const pending: Omit<LetterBinding, "key">[] = [];
  for (const dim of rubric.dimensions) {
    for (const action of kindOf(dim.type)?.letterActions?.(dim) ?? []) pending.push({ dimension: dim.name, action });
  }
  const letters = assignLetters(pending.length);
  return pending.slice(0, letters.length).map((b, i) => ({ ...b, key: letters[i]! }));
}

/** Field errors of a rejected submit, by dimension ("values.harm" → "harm"). */
function dimensionErrors(error: unknown): { byDimension: Record<string, string[]>; other: string[] } {
  const byDimension: Record<string, string[]> = {};
  const other: string[] = [];
  if (error instanceof ApiError) {
    for (const [field, reasons] of Object.entries(error.fieldErrors)) {
      if (field.startsWith("values.")) byDimension[field.slice(7)] = reasons;
      else other.push(`${field}: ${reasons.join("; ")}`);
    }
  }
  return { byDimension, other };
}

/** Focus is nowhere the annotator chose: on the page itself, or on a control that went away. */
function focusIsLoose(): boolean {
  const active = document.activeElement;
  return !active || active === document.body || !active.isConnected || !!active.closest("fieldset:disabled");
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

  const [helpOpen, setHelpOpen] = useState(false);
  const [status, setStatus] = useState(annotation.restored ? "Restored your unsaved answers for this item." : "");
  const [activeDim, setActiveDim] = useState<string | null>(() => rubric.dimensions[0]?.name ?? null);
  const outputRef = useRef<HTMLDivElement>(null);
  const rubricRef = useRef<HTMLFieldSetElement>(null);
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

  const bindings = useMemo(() => letterBindings(rubric), [rubric]);
  const letterKeys = useMemo(() => {
    const byDim: Record<string, string[]> = {};
    for (const b of bindings) (byDim[b.dimension] ??= []).push(b.key);
    return byDim;
  }, [bindings]);
  const letterHelp: LetterHelp[] = bindings.map((b) => ({ key: b.key, title: b.action.title }));

  const applicable = applicableDimensions(rubric, values);
  const highlights = useMemo(() => {
    const out: Highlight[] = [];
    for (const dim of applicableDimensions(rubric, values)) {
      out.push(...(kindOf(dim.type)?.highlights?.(dim, values[dim.name]) ?? []));
    }
    return out;
  }, [rubric, values]);

  // Errors of the last rejected submit, hidden for a dimension once its answer changes.
  const { byDimension, other } = dimensionErrors(rejection?.error);
  const sentValues = rejection?.sent ?? {};
  const shownErrors: Record<string, string[]> = {};
  for (const [name, reasons] of Object.entries(byDimension)) {
    if (JSON.stringify(sentValues[name]) === JSON.stringify(values[name])) shownErrors[name] = reasons;
  }

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

  // A new item: start on its first question, unless the annotator is already somewhere.
  useEffect(() => {
    const first = rubric.dimensions[0]?.name;
    if (first && focusIsLoose()) focusDimension(first);
  }, [focusDimension, rubric]);

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

  const currentFrame = () => (document.activeElement as HTMLElement | null)?.closest<HTMLElement>("[data-dimension]");
  const names = applicable.map((d) => d.name);

  useWorkspaceKeys(
    {
      help: () => setHelpOpen((open) => !open),
      close: () => setHelpOpen(false),
      leaveText: (e) => {
        const frame = (e.target as HTMLElement).closest<HTMLElement>("[data-dimension]");
        if (frame) frame.focus();
        else (e.target as HTMLElement).blur();
      },
      digit: (e) => {
        if (busy || !activeDim || !names.includes(activeDim)) return false;
        const dim = rubric.dimensions.find((d) => d.name === activeDim)!;
        const next = kindOf(dim.type)?.digit?.(dim, values[dim.name], Number(e.key));
        if (next === undefined) return false;
        const focused = document.activeElement;
        if (focused instanceof HTMLInputElement && focused.type === "radio" && currentFrame()?.dataset.dimension === dim.name) {
          refocus.current = dim.name;
        }
        setValue(dim.name, next);
      },
      nextDimension: () => {
        const frame = currentFrame();
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
        const frame = currentFrame();
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
      moveWithin: (e) => {
        const target = e.target as HTMLElement;
        const frame = currentFrame();
        if (!frame || (target instanceof HTMLInputElement && target.type === "radio")) return false;
        const controls = [...frame.querySelectorAll<HTMLElement>("input, button, textarea")].filter(
          (el) => !(el as HTMLInputElement).disabled,
        );
        const i = controls.indexOf(target);
        if (i < 0) return false;
        const step = e.key === "ArrowLeft" || e.key === "ArrowUp" ? -1 : 1;
        controls[(i + step + controls.length) % controls.length]?.focus();
      },
      label: (e) => {
        if (busy) return false;
        const binding = bindings.find((b) => b.key === e.key.toLowerCase());
        if (!binding) return false;
        const dim = rubric.dimensions.find((d) => d.name === binding.dimension)!;
        if (!dimensionApplies(dim, values) || !names.includes(dim.name)) {
          setStatus(`“${dimensionTitle(dim)}” does not apply to this item.`);
          return;
        }
        const next = binding.action.run(values[dim.name], { ...context, letterKeys: letterKeys[dim.name] ?? [] });
        if (next !== undefined) setValue(dim.name, next);
      },
      submit: () => doSubmit(),
      skip: () => doSkip(),
      undo: () => {
        if (busy) return;
        if (!canUndo) setStatus("Nothing to undo.");
        else {
          undo();
          setStatus("Undone.");
        }
      },
    },
    { helpOpen },
  );

  const total = progress.done + progress.available;

  return (
    <div className="workspace" aria-busy={busy}>
      <div className="ws-head">
        <h1 className="ws-title">{campaign.name}</h1>
        <div className="ws-stats">
          <ProgressBar value={progress.done} max={total} label="Your progress" />
          <span>
            <strong>{progress.done}</strong> done ·{" "}
            <strong>
              {progress.available}
              {progress.available_capped ? "+" : ""}
            </strong>{" "}
            left
          </span>
          <ItemTimer startedAt={startedAt} />
        </div>
        <div className="ws-head-actions">
          <button type="button" className="btn" onClick={() => setHelpOpen(true)} aria-keyshortcuts="?">
            Keys <kbd>?</kbd>
          </button>
          <button type="button" className="btn" onClick={doSkip} disabled={busy} aria-keyshortcuts="s">
            Skip <kbd>s</kbd>
          </button>
        </div>
      </div>

      <Instructions campaignId={campaign.id} markdown={campaign.instructions} />

      <LeaseWarning expiresAt={assignment.expires_at} />

      {notices}

      {rejection && (
        <div className="alert alert-error" role="alert">
          <span>
            Your answer to this item was not saved: {rejection.error.message}
            {Object.keys(byDimension).length > 0 ? " Fix the marked questions and submit again." : ""}
          </span>
          {other.length > 0 && <span>{other.join(" · ")}</span>}
        </div>
      )}

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
            <OutputText ref={outputRef} text={item.text} highlights={highlights} label="Model output" />
          </section>
        </div>

        <section className="panel" aria-labelledby="questions-title">
          <h2 className="panel-title" id="questions-title">
            Questions
          </h2>
          <fieldset disabled={busy} className="rubric-wrap" ref={rubricRef}>
            <RubricForm
              rubric={rubric}
              values={values}
              onChange={setValue}
              errors={shownErrors}
              context={context}
              letterKeys={letterKeys}
              activeDimension={activeDim}
              onActivate={setActiveDim}
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

/** Ticks on its own, so the rest of the workspace does not re-render every second. */
function ItemTimer({ startedAt }: { startedAt: string }) {
  const now = useNow(1000);
  return (
    <span title="Time on this item">
      Time{" "}
      <span role="timer" aria-label="Time on this item">
        {formatDuration(now - Date.parse(startedAt))}
      </span>
    </span>
  );
}

function LeaseWarning({ expiresAt }: { expiresAt: string }) {
  const expiresIn = Date.parse(expiresAt) - useNow(1000);
  if (!(expiresIn < 5 * 60_000)) return null;
  return (
    <div className="alert alert-warn" role="status">
      {expiresIn > 0
        ? `Your hold on this item ends in ${formatDuration(expiresIn)}; submit soon or others may take it.`
        : "Your hold on this item has ended. Submitting may still work if no one else took it."}
    </div>
  );
}
