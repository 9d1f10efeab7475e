import { ApiError } from "../api/client";
import type { Values } from "../rubric/types";
import type { Rejection } from "./queue";

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

/** Errors of the last rejected submit by dimension, hidden for a dimension once its answer changes. */
export function shownErrors(rejection: Rejection | null, values: Values): Record<string, string[]> {
  const { byDimension } = dimensionErrors(rejection?.error);
  const sentValues = rejection?.sent ?? {};
  const shown: Record<string, string[]> = {};
  for (const [name, reasons] of Object.entries(byDimension)) {
    if (JSON.stringify(sentValues[name]) === JSON.stringify(values[name])) shown[name] = reasons;
  }
  return shown;
}

/** Why the last submit of this item was not saved; errors without a question are listed here. */
export function RejectionAlert({ rejection }: { rejection: Rejection }) {
  const { byDimension, other } = dimensionErrors(rejection.error);
  return (
    <div className="alert alert-error" role="alert">
      <span>
        Your answer to this item was not saved: {rejection.error.message}
        {Object.keys(byDimension).length > 0 ? " Fix the marked questions and submit again." : ""}
      </span>
      {other.length > 0 && <span>{other.join(" · ")}</span>}
    </div>
  );
}
