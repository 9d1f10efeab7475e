import type { Option } from "./types";

/** The option picked by number key n: 1..9 pick options 1..9, 0 picks the tenth. */
export function optionForDigit<T>(options: T[], n: number): T | undefined {
  return options[n === 0 ? 9 : n - 1];
}

interface Props {
  options: Option[];
  type: "radio" | "checkbox";
  /** The radio group's name; checkboxes go without. */
  name?: string;
  isChecked(value: string): boolean;
  onPick(value: string): void;
}

/**
 * The options of a choice-like dimension, each with the number key that picks it (as
 * optionForDigit maps it). The caller wraps them and decides what the group means to
 * assistive tech.
 */
export function OptionList({ options, type, name, isChecked, onPick }: Props) {
  return options.map((opt, i) => (
    <label key={opt.value} className="option">
      <input
        type={type}
        name={name}
        value={opt.value}
        checked={isChecked(opt.value)}
        onChange={() => onPick(opt.value)}
        data-focus-target=""
        aria-keyshortcuts={opt.hotkey}
      />
      <span>{opt.label ?? opt.value}</span>
      {opt.hotkey ? (
        <span className="kbd kbd-hotkey" aria-hidden="true" title={`Key ${opt.hotkey}`}>
          {opt.hotkey}
        </span>
      ) : (
        i < 10 && (
          <span className="kbd" aria-hidden="true">
            {(i + 1) % 10}
          </span>
        )
      )}
    </label>
  ));
}
