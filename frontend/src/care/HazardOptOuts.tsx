/** The hazard categories the campaign lets an annotator opt out of: one checkbox each. */
import { useId, useState } from "react";
import { ErrorMessage } from "../components/ErrorMessage";
import { useSetOptOuts } from "./careQueries";

interface Props {
  campaignId: number;
  categories: string[];
  optOuts: string[];
  /** Save on every change (the workspace menu) instead of with a button (the warning screen). */
  live?: boolean;
  onChange?(optOuts: string[]): void;
}

export function HazardOptOuts({ campaignId, categories, optOuts, live = false, onChange }: Props) {
  const uid = useId();
  const [chosen, setChosen] = useState(() => new Set(optOuts));
  const save = useSetOptOuts(campaignId);
  if (categories.length === 0) return null;

  const toggle = (category: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(category);
    else next.delete(category);
    setChosen(next);
    const list = categories.filter((c) => next.has(c));
    onChange?.(list);
    if (live) save.mutate(list);
  };

  return (
    <fieldset className="care-optouts" aria-describedby={`${uid}-hint`}>
      <legend>Categories I do not want to see</legend>
      <p className="hint" id={`${uid}-hint`}>
        Items of a category you tick are not given to you. Others label them.
      </p>
      {categories.map((category) => (
        <label key={category} className="care-optout">
          <input
            type="checkbox"
            checked={chosen.has(category)}
            onChange={(e) => toggle(category, e.target.checked)}
            disabled={save.isPending}
          />{" "}
          {category}
        </label>
      ))}
      {live && save.isSuccess && (
        <span className="adm-ok" role="status">
          Saved.
        </span>
      )}
      {save.error && <ErrorMessage error={save.error} />}
    </fieldset>
  );
}
