import type { DimensionKind, DimensionProps } from "./kind";
import { optionsOf } from "./types";

/** The option picked by number key n: 1..9 pick options 1..9, 0 picks the tenth. */
export function optionForDigit<T>(options: T[], n: number): T | undefined {
  return options[n === 0 ? 9 : n - 1];
}

function ChoiceDimension({ dim, value, onChange, labelId, idPrefix, errorId }: DimensionProps) {
  const options = optionsOf(dim);
  return (
    <div
      className="options"
      role="radiogroup"
      aria-labelledby={labelId}
      aria-required={dim.required ? true : undefined}
      aria-describedby={errorId}
      aria-invalid={errorId ? true : undefined}
    >
      {options.map((opt, i) => (
        <label key={opt.value} className="option">
          <input
            type="radio"
            name={`${idPrefix}-radio`}
            value={opt.value}
            checked={value === opt.value}
            onChange={() => onChange(opt.value)}
            data-focus-target=""
          />
          <span>{opt.label ?? opt.value}</span>
          {i < 10 && (
            <span className="kbd" aria-hidden="true">
              {(i + 1) % 10}
            </span>
          )}
        </label>
      ))}
    </div>
  );
}

export const choice: DimensionKind = {
  Component: ChoiceDimension,
  digit(dim, _value, n) {
    return optionForDigit(optionsOf(dim), n)?.value;
  },
};
