/**
 * Prompt import: a JSONL or CSV file (sent as multipart) or pasted text (sent as JSON). The
 * server takes all rows or none; a rejection lists every bad row, shown in a table.
 */
import { useId, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api } from "../../api/client";
import { keys } from "../../api/queries";
import { ErrorMessage } from "../ErrorMessage";
import { FieldError, describedBy, type FieldErrors } from "./fields";
import { ImportReportTable } from "./ImportReportTable";
import type { ImportErrorRow, Split } from "./adminQueries";

type Format = "auto" | "jsonl" | "csv";

/** A rejected import: the message, per-field errors and the bad rows. */
class ImportRejected extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly rows: ImportErrorRow[],
    readonly fieldErrors: FieldErrors,
  ) {
    super(message);
  }
}

interface ImportInput {
  file: File | null;
  content: string;
  format: Format;
  split: Split;
}

async function importPrompts(campaignId: number, input: ImportInput): Promise<number> {
  const format = input.format === "auto" ? undefined : input.format;
  const params = { path: { id: campaignId } };
  let result;
  try {
    if (input.file) {
      const file = input.file;
      result = await api.POST("/api/campaigns/{id}/prompts/import/", {
        params,
        body: { split: input.split, format },
        // The typed body carries the plain fields; the file itself goes into the form here.
        bodySerializer: () => {
          const form = new FormData();
          form.append("file", file, file.name);
          form.append("split", input.split);
          if (format) form.append("format", format);
          return form;
        },
      });
    } else {
      result = await api.POST("/api/campaigns/{id}/prompts/import/", {
        params,
        body: { content: input.content, split: input.split, format },
      });
    }
  } catch {
    throw new ApiError(0, "The server could not be reached. Check your connection and try again.", "network");
  }
  if (result.data) return result.data.created;
  const body: unknown = result.error;
  if (result.response.status === 400 && body && typeof body === "object" && "detail" in body) {
    const err = result.error;
    throw new ImportRejected(err.detail, err.code, err.rows ?? [], err.errors ?? {});
  }
  throw ApiError.fromBody(result.response.status, body);
}

export function PromptImport({ campaignId, onImported }: { campaignId: number; onImported?: (n: number) => void }) {
  const uid = useId();
  const qc = useQueryClient();
  const [source, setSource] = useState<"file" | "paste">("file");
  const [file, setFile] = useState<File | null>(null);
  const [content, setContent] = useState("");
  const [format, setFormat] = useState<Format>("auto");
  const [split, setSplit] = useState<Split>("public");

  const mutation = useMutation({
    mutationFn: (input: ImportInput) => importPrompts(campaignId, input),
    onSuccess: (created) => {
      void qc.invalidateQueries({ queryKey: keys.campaign(campaignId), exact: true });
      onImported?.(created);
    },
  });

  const error = mutation.error;
  const rejected = error instanceof ImportRejected ? error : null;
  // A row report already says why the file was refused; other 400s name a field.
  const fieldErrors: FieldErrors = rejected
    ? rejected.rows.length
      ? {}
      : rejected.fieldErrors
    : error instanceof ApiError
      ? error.fieldErrors
      : {};
  const fileErrors = [...(fieldErrors.file ?? []), ...(fieldErrors.content ?? [])];
  const ready = source === "file" ? !!file : content.trim().length > 0;

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!ready) return;
    mutation.mutate({
      file: source === "file" ? file : null,
      content,
      format: source === "paste" && format === "auto" ? "jsonl" : format,
      split,
    });
  };

  return (
    <form className="adm-form" onSubmit={submit} aria-labelledby={`${uid}-title`}>
      <h3 id={`${uid}-title`}>Import prompts</h3>
      <p className="hint">
        One prompt per JSONL line (<code>{'{"text": "…", "category": "…", "split": "private"}'}</code>) or CSV row
        with a <code>text</code>, <code>prompt</code> or <code>question</code> column. One bad row rejects the
        whole file; the report lists each.
      </p>
      <fieldset className="adm-subfieldset adm-inline-checks">
        <legend>Source</legend>
        <span className="adm-check">
          <input
            type="radio"
            id={`${uid}-src-file`}
            name={`${uid}-src`}
            checked={source === "file"}
            onChange={() => setSource("file")}
          />
          <label htmlFor={`${uid}-src-file`}>Upload a file</label>
        </span>
        <span className="adm-check">
          <input
            type="radio"
            id={`${uid}-src-paste`}
            name={`${uid}-src`}
            checked={source === "paste"}
            onChange={() => setSource("paste")}
          />
          <label htmlFor={`${uid}-src-paste`}>Paste text</label>
        </span>
      </fieldset>
      {source === "file" ? (
        <div className="adm-field">
          <label htmlFor={`${uid}-file`}>JSONL or CSV file</label>
          <input
            type="file"
            accept=".jsonl,.json,.ndjson,.csv,.txt,text/csv,application/json"
            {...describedBy(`${uid}-file`, fileErrors.length ? fileErrors : undefined)}
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
          <FieldError id={`${uid}-file`} errors={fileErrors.length ? fileErrors : undefined} />
        </div>
      ) : (
        <div className="adm-field">
          <label htmlFor={`${uid}-content`}>File content</label>
          <textarea
            {...describedBy(`${uid}-content`, fileErrors.length ? fileErrors : undefined)}
            className="adm-input adm-textarea adm-mono"
            rows={8}
            spellCheck={false}
            value={content}
            onChange={(e) => setContent(e.target.value)}
          />
          <FieldError id={`${uid}-content`} errors={fileErrors.length ? fileErrors : undefined} />
        </div>
      )}
      <div className="adm-row">
        <div className="adm-field adm-narrow">
          <label htmlFor={`${uid}-format`}>Format</label>
          <select
            {...describedBy(`${uid}-format`, fieldErrors.format)}
            className="adm-input"
            value={format}
            onChange={(e) => setFormat(e.target.value as Format)}
          >
            <option value="auto">{source === "file" ? "From the file name" : "JSONL"}</option>
            <option value="jsonl">JSONL</option>
            <option value="csv">CSV</option>
          </select>
          <FieldError id={`${uid}-format`} errors={fieldErrors.format} />
        </div>
        <div className="adm-field adm-narrow">
          <label htmlFor={`${uid}-split`}>Split for rows that name none</label>
          <select
            {...describedBy(`${uid}-split`, fieldErrors.split, true)}
            className="adm-input"
            value={split}
            onChange={(e) => setSplit(e.target.value as Split)}
          >
            <option value="public">public</option>
            <option value="private">private (held out)</option>
          </select>
          <p className="hint" id={`${uid}-split-hint`}>
            Private (held-out) prompts are left out of exports unless a campaign admin asks to include them, and
            non-admins never see them in prompt lists.
          </p>
          <FieldError id={`${uid}-split`} errors={fieldErrors.split} />
        </div>
      </div>
      <div className="adm-actions">
        <button type="submit" className="btn btn-primary" disabled={!ready || mutation.isPending}>
          {mutation.isPending ? "Importing…" : "Import"}
        </button>
      </div>
      {mutation.isSuccess && (
        <p className="adm-ok" role="status">
          Imported {mutation.data} prompt{mutation.data === 1 ? "" : "s"}.
        </p>
      )}
      {rejected && (
        <div role="alert">
          {(rejected.rows.length > 0 || Object.keys(fieldErrors).length === 0) && (
            <p className="adm-error-text">{rejected.message}</p>
          )}
          {rejected.rows.length > 0 && <ImportReportTable rows={rejected.rows} />}
        </div>
      )}
      {error && !rejected && <ErrorMessage error={error} />}
    </form>
  );
}
