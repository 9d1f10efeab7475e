import type { ComponentType } from "react";
import type { TextRange } from "./offsets";
import type { Dimension } from "./types";

/** What a dimension component gets from the workspace, whatever its type. */
export interface DimensionContext {
  /** The model output being labeled (spans are code point offsets into it). */
  outputText: string;
  /** The current text selection inside the output, or null. */
  getSelection(): TextRange | null;
  clearSelection(): void;
  /** Select [start, end) (code points) of the output, as a mouse would. */
  select(start: number, end: number): void;
  /** Letters the workspace assigned to this dimension's letter actions, in their order. */
  letterKeys: string[];
  /** Tell the annotator something (e.g. "select text first"); announced politely. */
  notify(message: string): void;
}

export interface DimensionProps {
  dim: Dimension;
  value: unknown;
  onChange(value: unknown): void;
  ctx: DimensionContext;
  /** id of the dimension's visible title, for aria-labelledby. */
  labelId: string;
  /** Prefix for element ids inside the dimension. */
  idPrefix: string;
  /** id of the element describing the dimension's error, when there is one. */
  errorId?: string;
}

/** A keyboard action that needs a letter (e.g. "label the selection as Toxic"). */
export interface LetterAction {
  title: string;
  /** The rubric's own key for it (an option's `hotkey`); otherwise the workspace assigns one. */
  hotkey?: string;
  /** It answers its question: "one" (a single answer: the next question becomes active) or "many". */
  answers?: "one" | "many";
  /** The new value, or undefined when the action cannot run now. */
  run(value: unknown, ctx: DimensionContext): unknown;
}

/** A stretch of the output to highlight (code point offsets). */
export interface Highlight {
  start: number;
  end: number;
  title: string;
  /** Index into the span color palette. */
  color: number;
}

/**
 * One dimension type. The workspace only ever goes through this interface, so a new type is
 * one file that exports a DimensionKind plus one line in registry.ts.
 */
export interface DimensionKind {
  Component: ComponentType<DimensionProps>;
  /** A number key pressed while the dimension is active: the new value, or undefined to ignore. */
  digit?(dim: Dimension, value: unknown, n: number): unknown;
  /** Actions bound to letter keys; the workspace assigns the letters. */
  letterActions?(dim: Dimension): LetterAction[];
  /**
   * An arrow key while the dimension is active (spans: move the selection in the output by a
   * word; with Shift, extend it). True when it acted.
   */
  arrow?(dim: Dimension, ctx: DimensionContext, direction: -1 | 1, extend: boolean): boolean;
  /** Highlights this dimension's value puts on the output. */
  highlights?(dim: Dimension, value: unknown): Highlight[];
  /** Whether edits should merge into one undo step (typing), rather than one step each. */
  coalesceEdits?: boolean;
}
