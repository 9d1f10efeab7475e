/** The admin's final value for one dimension: typed inputs for choices and scales, JSON for spans. */
import { useState } from "react";
import { ApiError } from "../../../api/client";
import { optionsOf, type Dimension } from "../../../rubric/types";
import { ErrorMessage } from "../../ErrorMessage";

interface Props {
  dim: Dimension;
  initial: unknown;
  pending: boolean;
  error: unknown;
  onSubmit: (value: unknown, note: string) => void;
}

export function AdjudicateForm({ dim, initial, pending, error, onSubmit }: Props) {
  const [value, setValue] = useState<unknown>(initial ?? (dim.type === "multi_choice" || dim.type === "spans" ? [] : ""));
  const [spansText, setSpansText] = useState(() => JSON.stringify(initial ?? [], null, 0));
  const [note, setNote] = useState("");
  const [parseError, setParseError] = useState<string | null>(null);
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (dim.type === "spans") {
      try {
        setParseError(null);
        onSubmit(JSON.parse(spansText), note);
      } catch {
        setParseError("Spans must be a JSON list of {start, end, label}.");
      }
      return;
    }
    onSubmit(value, note);
  };

  return (
    <form className="qc-form" onSubmit={submit} aria-label={`Adjudicate ${dim.name}`}>
      <ValueInput dim={dim} value={value} setValue={setValue} spansText={spansText} setSpansText={setSpansText} />
      <label>
        Note
        <input type="text" value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} />
      </label>
      <button type="submit" className="btn btn-primary btn-small" disabled={pending}>
        Set final value
      </button>
      {parseError && <p className="alert alert-error">{parseError}</p>}
      {fieldErrors.value && <p className="alert alert-error">{fieldErrors.value.join("; ")}</p>}
      {error !== null && !fieldErrors.value && <ErrorMessage error={error} />}
    </form>
  );
}

interface InputProps {
  dim: Dimension;
  value: unknown;
  setValue: (v: unknown) => void;
  spansText: string;
  setSpansText: (v: string) => void;
}

function ValueInput({ dim, value, setValue, spansText, setSpansText }: InputProps) {
  const label = `Final ${dim.name}`;
  if (dim.type === "choice") {
    return (
      <label>
        {label}
        <select value={String(value ?? "")} onChange={(e) => setValue(e.target.value)}>
          <option value="">choose…</option>
          {optionsOf(dim).map((o) => (
            <option key={o.value} value={o.value}>
              {o.label ?? o.value}
            </option>
          ))}
        </select>
      </label>
    );
  }
  if (dim.type === "likert") {
    const lo = Number(dim.min ?? 1);
    const hi = Number(dim.max ?? 5);
    const points = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    const current = typeof value === "number" ? Math.round(value) : "";
    return (
      <label>
        {label}
        <select value={String(current)} onChange={(e) => setValue(Number(e.target.value))}>
          <option value="">choose…</option>
          {points.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
    );
  }
  if (dim.type === "multi_choice") {
    const chosen = new Set(Array.isArray(value) ? (value as string[]) : []);
    return (
      <fieldset>
        <legend>{label}</legend>
        {optionsOf(dim).map((o) => (
          <label key={o.value}>
            <input
              type="checkbox"
              checked={chosen.has(o.value)}
              onChange={(e) => {
                const next = new Set(chosen);
                if (e.target.checked) next.add(o.value);
                else next.delete(o.value);
                setValue(optionsOf(dim).map((x) => x.value).filter((v) => next.has(v)));
              }}
            />
            {o.label ?? o.value}
          </label>
        ))}
      </fieldset>
    );
  }
  return (
    <label>
      {label} (JSON)
      <textarea rows={2} cols={50} value={spansText} onChange={(e) => setSpansText(e.target.value)} />
    </label>
  );
}
