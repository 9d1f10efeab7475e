import type { DimensionKind, DimensionProps } from "./kind";
import { OptionList, optionForDigit } from "./OptionList";
import { dimensionTitle, optionsOf, type Dimension } from "./types";

function toggle(dim: Dimension, value: unknown, option: string): string[] {
  const current = Array.isArray(value) ? (value as string[]) : [];
  const next = current.includes(option) ? current.filter((v) => v !== option) : [...current, option];
  // Keep the rubric's order, whatever order they were ticked in.
  const order = optionsOf(dim).map((o) => o.value);
  return next.sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

function MultiChoiceDimension({ dim, value, onChange }: DimensionProps) {
  const selected = Array.isArray(value) ? (value as string[]) : [];
  return (
    // The dimension's fieldset is the group; this is just the layout.
    <div className="options">
      <OptionList
        options={optionsOf(dim)}
        type="checkbox"
        isChecked={(option) => selected.includes(option)}
        onPick={(option) => onChange(toggle(dim, value, option))}
      />
    </div>
  );
}

export const multiChoice: DimensionKind = {
  Component: MultiChoiceDimension,
  digit(dim, value, n) {
    const opt = optionForDigit(optionsOf(dim), n);
    return opt ? toggle(dim, value, opt.value) : undefined;
  },
  letterActions(dim) {
    return optionsOf(dim)
      .filter((o) => typeof o.hotkey === "string" && o.hotkey)
      .map((o) => ({
        title: `${dimensionTitle(dim)}: ${o.label ?? o.value} (on or off)`,
        hotkey: o.hotkey,
        answers: "many" as const,
        run: (value: unknown) => toggle(dim, value, o.value),
      }));
  },
};
