import { useQuery } from "@tanstack/react-query";
import { myHistoryQuery, type HistoryEntry } from "../api/queries";
import { ErrorMessage } from "../components/ErrorMessage";

interface Props {
  campaignId: number;
  /** Whether the campaign still takes edits (open for labeling). */
  open: boolean;
  onEdit(entry: HistoryEntry): void;
  onUnskip(entry: HistoryEntry): void;
  onClose(): void;
}

function snippet(text: string, n = 90): string {
  return text.length > n ? `${text.slice(0, n)}…` : text;
}

/** The annotator's recent items: correct a submitted one, or take back a skipped one. */
export function HistoryPanel({ campaignId, open, onEdit, onUnskip, onClose }: Props) {
  const history = useQuery(myHistoryQuery(campaignId));
  const rows = history.data?.results ?? [];
  return (
    <section className="panel history-panel" aria-labelledby="history-title">
      <div className="history-head">
        <h2 className="panel-title" id="history-title">
          Your recent items
        </h2>
        <button type="button" className="btn btn-link" onClick={onClose}>
          Close
        </button>
      </div>
      {history.isPending && <p className="muted">Loading…</p>}
      {history.error && <ErrorMessage error={history.error} />}
      {history.isSuccess && rows.length === 0 && <p className="muted">Nothing submitted or skipped yet.</p>}
      {rows.length > 0 && (
        <ol className="history-list">
          {rows.map((row) => (
            <li key={row.id} className="history-row">
              <span className={`badge badge-${row.status}`}>{row.status}</span>
              <span className="history-text untrusted">{snippet(row.item.text)}</span>
              {row.status === "skipped" && row.skip_reason && (
                <span className="muted history-reason">({row.skip_reason})</span>
              )}
              {row.revisions > 0 && (
                <span className="muted">
                  edited {row.revisions} time{row.revisions === 1 ? "" : "s"}
                </span>
              )}
              {open && row.status === "submitted" && (
                <button type="button" className="btn btn-small" onClick={() => onEdit(row)}>
                  Edit
                </button>
              )}
              {open && row.status === "skipped" && (
                <button type="button" className="btn btn-small" onClick={() => onUnskip(row)}>
                  Label it now
                </button>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
