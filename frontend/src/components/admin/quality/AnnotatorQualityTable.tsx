/** Per annotator: gold accuracy, agreement with consensus, time, skips, DS confusion, pauses. */
import { percent, type AnnotatorQuality } from "./qualityQueries";

interface Props {
  annotators: AnnotatorQuality[];
  onResume?: (userId: number) => void;
  resuming?: number | null;
}

export function AnnotatorQualityTable({ annotators, onResume, resuming = null }: Props) {
  if (annotators.length === 0) return <p className="muted">No annotators yet.</p>;
  return (
    <div className="adm-table-wrap">
      <table className="adm-table">
        <thead>
          <tr>
            <th scope="col">Annotator</th>
            <th scope="col" className="adm-num">
              Labels
            </th>
            <th scope="col" className="adm-num">
              Gold accuracy
            </th>
            <th scope="col" className="adm-num">
              Agrees with consensus
            </th>
            <th scope="col" className="adm-num">
              Median s / item
            </th>
            <th scope="col" className="adm-num">
              Skip rate
            </th>
            <th scope="col">Status</th>
            <th scope="col">Dawid-Skene confusion</th>
          </tr>
        </thead>
        <tbody>
          {annotators.map((a) => (
            <tr key={a.annotator_id}>
              <th scope="row">{a.username}</th>
              <td className="adm-num">{a.n_labels}</td>
              <td className="adm-num">
                {percent(a.gold_accuracy)}
                {a.gold_answers > 0 && <span className="muted"> ({a.gold_correct}/{a.gold_answers})</span>}
              </td>
              <td className="adm-num">{percent(a.agreement)}</td>
              <td className="adm-num">{a.median_time_ms === null ? "—" : (a.median_time_ms / 1000).toFixed(1)}</td>
              <td className="adm-num">{percent(a.skip_rate)}</td>
              <td>
                {a.paused_at ? (
                  <div className="qc-paused">
                    <span className="badge badge-warn">paused</span>
                    <span className="qc-reason">{a.pause_reason}</span>
                    {onResume && (
                      <button
                        type="button"
                        className="btn btn-small"
                        disabled={resuming === a.annotator_id}
                        onClick={() => onResume(a.annotator_id)}
                      >
                        Resume {a.username}
                      </button>
                    )}
                  </div>
                ) : (
                  <span className="muted">active</span>
                )}
              </td>
              <td>
                <Confusion confusion={a.confusion} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type Matrix = Record<string, Record<string, number>>;

/** {dimension: {true: {given: p}}} as one small table per dimension, folded away. */
function Confusion({ confusion }: { confusion: unknown }) {
  const dims = confusion && typeof confusion === "object" ? Object.entries(confusion as Record<string, Matrix>) : [];
  if (dims.length === 0) return <span className="muted">—</span>;
  return (
    <details>
      <summary>show</summary>
      {dims.map(([dim, matrix]) => {
        const truths = Object.keys(matrix);
        return (
          <table key={dim} className="qc-confusion">
            <caption>
              {dim}: rows true, columns given
            </caption>
            <thead>
              <tr>
                <th scope="col" />
                {truths.map((t) => (
                  <th key={t} scope="col">
                    {t}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {truths.map((t) => (
                <tr key={t}>
                  <th scope="row">{t}</th>
                  {truths.map((g) => (
                    <td key={g} className="adm-num">
                      {(matrix[t]?.[g] ?? 0).toFixed(2)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        );
      })}
    </details>
  );
}
