/** Per annotator: submitted, skipped, skip rate, median seconds per item, live leases. */
import type { AnnotatorStats } from "./adminQueries";

export function AnnotatorTable({ annotators }: { annotators: AnnotatorStats[] }) {
  if (annotators.length === 0) return <p className="muted">No annotator has taken an item yet.</p>;
  return (
    <div className="adm-table-wrap">
      <table className="adm-table">
        <thead>
          <tr>
            <th scope="col">Annotator</th>
            <th scope="col" className="adm-num">
              Submitted
            </th>
            <th scope="col" className="adm-num">
              Skipped
            </th>
            <th scope="col" className="adm-num">
              Skip rate
            </th>
            <th scope="col" className="adm-num">
              Median s / item
            </th>
            <th scope="col" className="adm-num">
              Active leases
            </th>
          </tr>
        </thead>
        <tbody>
          {annotators.map((a) => (
            <tr key={a.annotator_id}>
              <th scope="row">{a.username}</th>
              <td className="adm-num">{a.submitted}</td>
              <td className="adm-num">{a.skipped}</td>
              <td className="adm-num">{a.skip_rate === null ? "—" : `${(a.skip_rate * 100).toFixed(0)}%`}</td>
              <td className="adm-num">{a.median_seconds === null ? "—" : a.median_seconds.toFixed(1)}</td>
              <td className="adm-num">{a.active}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
