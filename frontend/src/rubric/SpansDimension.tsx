import type { CSSProperties } from "react";
import type { DimensionContext, DimensionKind, DimensionProps, LetterAction } from "./kind";
import { snapToWords, wordRanges } from "./offsets";
import { optionsOf, snapsToWords, type Dimension } from "./types";

export interface Span {
  start: number;
  end: number;
  label: string;
  text: string;
}

const MAX_SPANS = 500;
const PALETTE_SIZE = 8;

function spanColorStyle(color: number): CSSProperties {
  const i = color % PALETTE_SIZE;
  return { "--hl-bg": `var(--span-${i})`, "--hl-edge": `var(--span-${i}-edge)` } as CSSProperties;
}

function asSpans(value: unknown): Span[] {
  return Array.isArray(value) ? (value as Span[]) : [];
}

function addSpan(dim: Dimension, value: unknown, label: string, ctx: DimensionContext): Span[] | undefined {
  const raw = ctx.getSelection();
  // Spans end on word boundaries unless the rubric turns it off ("approximately 10," → "10").
  const selection = raw && snapsToWords(dim) ? snapToWords(ctx.outputText, raw.start, raw.end) : raw;
  if (!selection) {
    ctx.notify("Select some text in the output first, then pick a label.");
    return undefined;
  }
  const spans = asSpans(value);
  if (spans.some((s) => s.start === selection.start && s.end === selection.end && s.label === label)) {
    ctx.notify("That span already has this label.");
    return undefined;
  }
  if (spans.length >= MAX_SPANS) {
    ctx.notify(`At most ${MAX_SPANS} spans.`);
    return undefined;
  }
  ctx.clearSelection();
  const title = optionsOf(dim, "labels").find((l) => l.value === label)?.label ?? label;
  ctx.notify(`Marked “${selection.text.slice(0, 60)}” as ${title}.`);
  return [...spans, { start: selection.start, end: selection.end, label, text: selection.text }].sort(
    (a, b) => a.start - b.start || a.end - b.end || a.label.localeCompare(b.label),
  );
}

function SpansDimension({ dim, value, onChange, ctx }: DimensionProps) {
  const labels = optionsOf(dim, "labels");
  const spans = asSpans(value);
  const labelIndex = new Map(labels.map((l, i) => [l.value, i]));
  return (
    <>
      <div className="span-labels">
        {labels.map((l, i) => {
          const key = ctx.letterKeys[i];
          return (
            <button
              key={l.value}
              type="button"
              className="btn btn-small span-label-btn"
              style={spanColorStyle(i)}
              // Keep the text selection in the output when the button is clicked.
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => {
                const next = addSpan(dim, value, l.value, ctx);
                if (next) onChange(next);
              }}
              aria-keyshortcuts={key}
              data-focus-target=""
            >
              {l.label ?? l.value}
              {key && (
                <span className="kbd" aria-hidden="true">
                  {key}
                </span>
              )}
            </button>
          );
        })}
      </div>
      <p className="hint">
        Select text in the output (or move by word with <kbd>←</kbd> <kbd>→</kbd>, extend with <kbd>Shift</kbd>),
        then press a label’s key or click the label.
      </p>
      {spans.length > 0 && (
        <ul className="span-list" aria-label="Marked spans">
          {spans.map((s) => {
            const i = labelIndex.get(s.label) ?? 0;
            const title = labels[i]?.label ?? s.label;
            return (
              <li key={`${s.start}-${s.end}-${s.label}`} className="span-item" style={spanColorStyle(i)}>
                <span className="span-item-label">{title}</span>
                <span className="span-item-text">{s.text}</span>
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  aria-label={`Remove ${title} span “${s.text.slice(0, 40)}”`}
                  onClick={() => onChange(spans.filter((x) => x !== s))}
                >
                  ✕
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}

/** Move (or with `extend`, grow) the selection in the output by one word. */
function moveByWord(ctx: DimensionContext, direction: -1 | 1, extend: boolean): boolean {
  const words = wordRanges(ctx.outputText);
  if (!words.length) return false;
  const current = ctx.getSelection();
  if (!current) {
    const w = direction > 0 ? words[0]! : words[words.length - 1]!;
    ctx.select(w.start, w.end);
    return true;
  }
  if (extend) {
    if (direction > 0) {
      const next = words.find((w) => w.end > current.end);
      ctx.select(current.start, next ? next.end : current.end);
    } else {
      const prev = [...words].reverse().find((w) => w.start < current.start);
      ctx.select(prev ? prev.start : current.start, current.end);
    }
    return true;
  }
  const target =
    direction > 0
      ? (words.find((w) => w.start >= current.end) ?? words[words.length - 1]!)
      : ([...words].reverse().find((w) => w.end <= current.start) ?? words[0]!);
  ctx.select(target.start, target.end);
  return true;
}

export const spans: DimensionKind = {
  Component: SpansDimension,
  letterActions(dim): LetterAction[] {
    return optionsOf(dim, "labels").map((l) => ({
      title: `Mark the selected output text as “${l.label ?? l.value}”`,
      hotkey: typeof l.hotkey === "string" && l.hotkey ? l.hotkey : undefined,
      run: (value, ctx) => addSpan(dim, value, l.value, ctx),
    }));
  },
  arrow(_dim, ctx, direction, extend) {
    return moveByWord(ctx, direction, extend);
  },
  highlights(dim, value) {
    const labels = optionsOf(dim, "labels");
    const index = new Map(labels.map((l, i) => [l.value, i]));
    return asSpans(value).map((s) => ({
      start: s.start,
      end: s.end,
      color: index.get(s.label) ?? 0,
      title: labels[index.get(s.label) ?? -1]?.label ?? s.label,
    }));
  },
};
