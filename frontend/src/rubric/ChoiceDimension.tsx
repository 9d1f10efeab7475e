import type { DimensionKind, DimensionProps } from "./kind";
import { OptionList, optionForDigit } from "./OptionList";
import { dimensionTitle, optionsOf } from "./types";

function ChoiceDimension({ dim, value, onChange, labelId, idPrefix, errorId }: DimensionProps) {
  return (
    <div
      className="options"
      role="radiogroup"
      aria-labelledby={labelId}
      aria-required={dim.required ? true : undefined}
      aria-describedby={errorId}
      aria-invalid={errorId ? true : undefined}
    >
      <OptionList
        options={optionsOf(dim)}
        type="radio"
        name={`${idPrefix}-radio`}
        isChecked={(option) => value === option}
        onPick={onChange}
      />
    </div>
  );
}

export const choice: DimensionKind = {
  Component: ChoiceDimension,
  digit(dim, _value, n) {
    return optionForDigit(optionsOf(dim), n)?.value;
  },
  letterActions(dim) {
    return optionsOf(dim)
      .filter((o) => typeof o.hotkey === "string" && o.hotkey)
      .map((o) => ({
        title: `${dimensionTitle(dim)}: ${o.label ?? o.value}`,
        hotkey: o.hotkey,
        answers: "one" as const,
        run: () => o.value,
      }));
  },
};
