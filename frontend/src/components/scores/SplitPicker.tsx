/** All prompts, public, or private (held out): the segmented control the score views share. */
import { useId } from "react";

export type Split = "all" | "public" | "private";

const SPLITS: { value: Split; label: string }[] = [
  { value: "all", label: "All prompts" },
  { value: "public", label: "Public" },
  { value: "private", label: "Private (held out)" },
];

export function SplitPicker({ value, onChange }: { value: Split; onChange: (split: Split) => void }) {
  const uid = useId();
  return (
    <fieldset className="adm-segmented">
      <legend className="sr-only">Prompt split</legend>
      {SPLITS.map((s) => (
        <span key={s.value}>
          <input
            type="radio"
            id={`${uid}-${s.value}`}
            name={`${uid}-split`}
            value={s.value}
            checked={value === s.value}
            onChange={() => onChange(s.value)}
          />
          <label htmlFor={`${uid}-${s.value}`}>{s.label}</label>
        </span>
      ))}
    </fieldset>
  );
}
