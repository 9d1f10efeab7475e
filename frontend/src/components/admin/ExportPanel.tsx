/**
 * Download the campaign's labels: one of the export formats the server writes (labeling/exports),
 * the license stated in the datasheet, and, for campaign admins only, the private (held-out)
 * prompts. The file is a plain link to the export endpoint, so the browser streams it to disk.
 */
import { useId, useState } from "react";

export const EXPORT_FORMATS = [
  { value: "jsonl", label: "JSONL", hint: "one annotation per line, streamed" },
  { value: "csv", label: "CSV", hint: "one annotation per row, streamed" },
  { value: "parquet", label: "Parquet", hint: "zip with DATASHEET.md" },
  { value: "hf", label: "Hugging Face datasets folder", hint: "zip with DATASHEET.md" },
  { value: "label_studio", label: "Label Studio", hint: "config XML and tasks with annotations (zip)" },
] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number]["value"];

// The server's rule (labeling/exports/apis.py _LICENSE_RE), checked here so a bad license never
// becomes a download of an error page.
const LICENSE_RE = /^[\w .+()/:-]{1,100}$/;

export function exportUrl(campaignId: number, fmt: ExportFormat, includePrivate: boolean, license: string): string {
  const q = new URLSearchParams({ as: fmt, include_private: includePrivate ? "1" : "0" });
  if (license.trim()) q.set("license", license.trim());
  return `/api/campaigns/${campaignId}/export/?${q.toString()}`;
}

export function ExportPanel({ campaignId, isAdmin, privatePrompts }: { campaignId: number; isAdmin: boolean; privatePrompts: number }) {
  const uid = useId();
  const [fmt, setFmt] = useState<ExportFormat>("jsonl");
  const [includePrivate, setIncludePrivate] = useState(false);
  const [license, setLicense] = useState("");
  const licenseOk = !license.trim() || LICENSE_RE.test(license.trim());
  const withPrivate = isAdmin && includePrivate;
  const href = exportUrl(campaignId, fmt, withPrivate, license);
  const chosen = EXPORT_FORMATS.find((f) => f.value === fmt);

  return (
    <div className="adm-stack">
      <div className="adm-row adm-align-end">
        <div className="adm-field">
          <label htmlFor={`${uid}-fmt`}>Format</label>
          <select
            id={`${uid}-fmt`}
            className="adm-input adm-input-auto"
            value={fmt}
            aria-describedby={`${uid}-fmt-hint`}
            onChange={(e) => setFmt(e.target.value as ExportFormat)}
          >
            {EXPORT_FORMATS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
          <p className="hint" id={`${uid}-fmt-hint`}>
            {chosen?.hint}
          </p>
        </div>
        <div className="adm-field">
          <label htmlFor={`${uid}-license`}>License (stated in the datasheet)</label>
          <input
            id={`${uid}-license`}
            className="adm-input"
            placeholder="unspecified, e.g. CC-BY-4.0"
            value={license}
            maxLength={100}
            aria-invalid={!licenseOk || undefined}
            aria-describedby={licenseOk ? undefined : `${uid}-license-error`}
            onChange={(e) => setLicense(e.target.value)}
          />
          {!licenseOk && (
            <p className="adm-error-text" id={`${uid}-license-error`}>
              A short name such as CC-BY-4.0: letters, digits, spaces and . + ( ) / : - only.
            </p>
          )}
        </div>
      </div>
      {isAdmin ? (
        <div className="adm-check">
          <input
            type="checkbox"
            id={`${uid}-private`}
            checked={includePrivate}
            aria-describedby={`${uid}-private-hint`}
            onChange={(e) => setIncludePrivate(e.target.checked)}
          />
          <label htmlFor={`${uid}-private`}>Include private (held-out) prompts</label>
          <p className="hint" id={`${uid}-private-hint`}>
            {privatePrompts
              ? `${privatePrompts} private prompt${privatePrompts === 1 ? "" : "s"}. `
              : "This campaign has no private prompts. "}
            Held-out prompts keep scores honest: share an export that includes them only with people who must see
            them. The datasheet records whether they are in.
          </p>
        </div>
      ) : (
        <p className="hint">Exports leave out the private (held-out) prompts; only the campaign's admins can include them.</p>
      )}
      <div className="adm-actions">
        {licenseOk ? (
          <a className="btn btn-primary" href={href} download data-testid="export-link">
            Download {chosen?.label}
            {withPrivate ? " (with private prompts)" : ""}
          </a>
        ) : (
          <button type="button" className="btn btn-primary" disabled>
            Download {chosen?.label}
          </button>
        )}
        <a className="btn" href={href.replace("/export/?", "/export/datasheet/?")} target="_blank" rel="noreferrer">
          View the datasheet
        </a>
      </div>
    </div>
  );
}
