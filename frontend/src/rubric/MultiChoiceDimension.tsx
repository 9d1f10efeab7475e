import type { DimensionKind, DimensionProps } from "./kind";
import { optionForDigit } from "./ChoiceDimension";
import { optionsOf, type Dimension } from "./types";

function toggle(dim: Dimension, value: unknown, option: string): string[] {
  const current = Array.isArray(value) ? (value as string[]) : [];
  const next = current.includes(option) ? current.filter((v) => v !== option) : [...current, option];
  // Keep the rubric's order, whatever order they were ticked in.
  const order = optionsOf(dim).map((o) => o.value);
  return next.sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

function MultiChoiceDimension({ dim, value, onChange }: DimensionProps) {
  const options = optionsOf(dim);
  const selected = Array.isArray(value) ? (value as string[]) : [];
  return (
    // The dimension's fieldset is the group; this is just the layout.
    <div className="options">
      {options.map((opt, i) => (
        <label key={opt.value} className="option">
          <input
            type="checkbox"
            value={opt.value}
            checked={selected.includes(opt.value)}
            onChange={() => onChange(toggle(dim, value, opt.value))}
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

export const multiChoice: DimensionKind = {
  Component: MultiChoiceDimension,
  digit(dim, value, n) {
    const opt = optionForDigit(optionsOf(dim), n);
    return opt ? toggle(dim, value, opt.value) : undefined;
  },
};
