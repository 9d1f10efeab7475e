/** A Markdown textarea with a preview; the preview's HTML goes through the shared sanitizer. */
import { useState } from "react";
import { Markdown } from "../Markdown";
import { FieldError, describedBy } from "./fields";

/** Rendered exactly as the workspace renders instructions (one sanitizer path for both). */
function MarkdownPreview({ source }: { source: string }) {
  if (!source.trim()) return <p className="muted">Nothing to preview yet.</p>;
  return <Markdown source={source} className="adm-markdown" />;
}

interface Props {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  errors?: string[];
  hint?: string;
  rows?: number;
}

export function MarkdownField({ id, label, value, onChange, errors, hint, rows = 10 }: Props) {
  const [tab, setTab] = useState<"write" | "preview">("write");
  return (
    <div className="adm-field">
      <div className="adm-md-head">
        <label htmlFor={id}>{label}</label>
        <div className="adm-tabs" role="group" aria-label={`${label}: write or preview`}>
          <button
            type="button"
            className={`btn btn-small${tab === "write" ? " is-on" : ""}`}
            aria-pressed={tab === "write"}
            onClick={() => setTab("write")}
          >
            Write
          </button>
          <button
            type="button"
            className={`btn btn-small${tab === "preview" ? " is-on" : ""}`}
            aria-pressed={tab === "preview"}
            onClick={() => setTab("preview")}
          >
            Preview
          </button>
        </div>
      </div>
      <textarea
        {...describedBy(id, errors, !!hint)}
        className="adm-input adm-textarea"
        rows={rows}
        hidden={tab !== "write"}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
      {tab === "preview" && (
        <div className="adm-md-preview" aria-label={`${label} preview`} role="region">
          <MarkdownPreview source={value} />
        </div>
      )}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <FieldError id={id} errors={errors} />
    </div>
  );
}
