/** The server's per-row report of a rejected prompt import: every bad row, its field and reason. */
import type { ImportErrorRow } from "./adminQueries";

export function ImportReportTable({ rows, caption }: { rows: ImportErrorRow[]; caption?: string }) {
  return (
    <div className="adm-table-wrap adm-report">
      <table className="adm-table">
        <caption>{caption ?? `${rows.length} bad row${rows.length === 1 ? "" : "s"}`}</caption>
        <thead>
          <tr>
            <th scope="col" className="adm-num">
              Row
            </th>
            <th scope="col">Field</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={`${r.row}-${r.field}-${i}`}>
              <td className="adm-num">{r.row}</td>
              <td>{r.field ? <code>{r.field}</code> : <span className="muted">(whole row)</span>}</td>
              <td className="adm-wrap">{r.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
