/** Training runs, newest first: status, trigger, labels, headline metrics and the decision. */
import type { TrainingRun } from "./classifierQueries";
import { fmt } from "./RunDetail";

export function RunsTable({ runs, selected, onSelect }: { runs: TrainingRun[]; selected: number | null; onSelect: (id: number) => void }) {
  if (!runs.length) return <p className="muted">No training runs yet.</p>;
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Target</th>
          <th scope="col">Backend</th>
          <th scope="col">Status</th>
          <th scope="col">Labels</th>
          <th scope="col" title="Macro-F1 of a document classifier; character F1 of a span tagger">
            Macro-F1 / char F1
          </th>
          <th scope="col">AUROC</th>
          <th scope="col">Train s</th>
          <th scope="col">Version</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} aria-selected={selected === r.id}>
            <td>
              <button type="button" className="btn btn-link" onClick={() => onSelect(r.id)}>
                {r.id}
              </button>
            </td>
            <td>{r.target}</td>
            <td>{r.backend}</td>
            <td>
              <span className={`badge badge-${r.status}`}>{r.status}</span> <span className="muted">{r.trigger}</span>
            </td>
            <td>{r.n_labels}</td>
            <td>{fmt(r.kind === "span_tagger" ? r.metrics?.char_f1 : r.metrics?.macro_f1)}</td>
            <td>{fmt(r.metrics?.auroc)}</td>
            <td>{fmt(r.train_seconds, 1)}</td>
            <td>
              {r.version ? (
                <span title={r.version.decision}>
                  {r.version.name}
                  {r.version.is_active ? " (active)" : r.version.promoted ? "" : " (not promoted)"}
                </span>
              ) : (
                "–"
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
