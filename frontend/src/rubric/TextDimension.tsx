import type { DimensionKind, DimensionProps } from "./kind";

function TextDimension({ dim, value, onChange, labelId, idPrefix, errorId }: DimensionProps) {
  const text = typeof value === "string" ? value : "";
  const maxLength = typeof dim.max_length === "number" ? dim.max_length : 10_000;
  // The server counts code points; the browser's maxLength counts UTF-16 units (never fewer).
  const length = [...text].length;
  return (
    <>
      <textarea
        id={`${idPrefix}-text`}
        className="text-input"
        aria-labelledby={labelId}
        aria-describedby={[errorId, `${idPrefix}-count`].filter(Boolean).join(" ")}
        aria-required={dim.required ? true : undefined}
        aria-invalid={errorId ? true : undefined}
        value={text}
        maxLength={maxLength}
        onChange={(e) => onChange(e.target.value)}
        data-focus-target=""
        rows={3}
      />
      <div className="counter" id={`${idPrefix}-count`}>
        {length} / {maxLength}
        <span className="sr-only"> characters. Press Escape to leave the text box.</span>
      </div>
    </>
  );
}

export const text: DimensionKind = {
  Component: TextDimension,
  coalesceEdits: true,
};
