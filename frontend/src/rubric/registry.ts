import type { DimensionKind } from "./kind";
import { choice } from "./ChoiceDimension";
import { multiChoice } from "./MultiChoiceDimension";
import { likert } from "./LikertDimension";
import { spans } from "./SpansDimension";
import { text } from "./TextDimension";

/** Dimension type → its component and keyboard behavior. One line per type. */
export const REGISTRY: Record<string, DimensionKind> = {
  choice,
  multi_choice: multiChoice,
  likert,
  spans,
  text,
};

export function kindOf(type: string): DimensionKind | undefined {
  return Object.hasOwn(REGISTRY, type) ? REGISTRY[type] : undefined;
}
