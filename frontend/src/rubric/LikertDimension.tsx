import type { DimensionKind, DimensionProps } from "./kind";
import type { Dimension } from "./types";

function scale(dim: Dimension): number[] {
  const lo = typeof dim.min === "number" ? dim.min : 1;
  const hi = typeof dim.max === "number" ? dim.max : 5;
  const points: number[] = [];
  for (let v = lo; v <= hi; v++) points.push(v);
  return points;
}

function anchor(dim: Dimension, point: number): string | undefined {
  const anchors = dim.anchors;
  if (!anchors || typeof anchors !== "object") return undefined;
  const text = (anchors as Record<string, unknown>)[String(point)];
  return typeof text === "string" ? text : undefined;
}

function LikertDimension({ dim, value, onChange, labelId, idPrefix, errorId }: DimensionProps) {
  const points = scale(dim);
  const current = typeof value === "number" ? value : undefined;
  const currentAnchor = current === undefined ? undefined : anchor(dim, current);
  return (
    <>
      <div
        className="likert"
        role="radiogroup"
        aria-labelledby={labelId}
        aria-required={dim.required ? true : undefined}
        aria-describedby={errorId}
        aria-invalid={errorId ? true : undefined}
      >
        {points.map((point) => {
          const text = anchor(dim, point);
          return (
            <label key={point} className="option">
              <input
                type="radio"
                name={`${idPrefix}-likert`}
                value={point}
                checked={current === point}
                onChange={() => onChange(point)}
                aria-label={text ? `${point}: ${text}` : String(point)}
                data-focus-target=""
              />
              <span className="likert-point">{point}</span>
              {text && (
                <span className="likert-anchor" aria-hidden="true">
                  {text}
                </span>
              )}
            </label>
          );
        })}
      </div>
      {currentAnchor && (
        <p className="likert-current" aria-hidden="true">
          {current}: {currentAnchor}
        </p>
      )}
    </>
  );
}

export const likert: DimensionKind = {
  Component: LikertDimension,
  // The number key is the scale value itself; on a scale that reaches 10, 0 means 10.
  digit(dim, _value, n) {
    const points = scale(dim);
    if (points.includes(n)) return n;
    if (n === 0 && points.includes(10)) return 10;
    return undefined;
  },
};
