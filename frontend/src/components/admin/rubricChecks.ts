/**
 * Client-side checks of a rubric draft, run as the admin edits: the ones whose fix is obvious
 * where the field is. The server (labeling/rubric.py) checks everything again on save and names
 * fields the same way ("rubric.dimensions[2].label"), so its errors land in the same places.
 */
import type { FieldErrors } from "./fields";
import type { Rubric } from "./rubricDraft";

export const REQUIRED_LABEL = "A required question needs a label: the text annotators read.";

export function rubricProblems(rubric: Rubric): FieldErrors {
  const errors: FieldErrors = {};
  rubric.dimensions.forEach((dim, i) => {
    if (dim.required && !(dim.label ?? "").trim()) {
      errors[`rubric.dimensions[${i}].label`] = [REQUIRED_LABEL];
    }
  });
  return errors;
}

/** Server errors first, then the client's for fields the server said nothing about. */
export function mergeErrors(client: FieldErrors, server: FieldErrors): FieldErrors {
  return { ...client, ...server };
}
