/** One item's annotations side by side (a row per annotator, a column per dimension). */
import type { Dimension } from "../../../rubric/types";
import { percent, valueText, type ReviewItem } from "./qualityQueries";

export function SideBySide({ item, dimensions }: { item: ReviewItem; dimensions: Dimension[] }) {
  const consensus = new Map(item.consensus.map((c) => [c.dimension, c]));
  return (
    <div className="adm-table-wrap">
      <table className="adm-table">
        <caption>Labels of each annotator, and the consensus</caption>
        <thead>
          <tr>
            <th scope="col">Annotator</th>
            {dimensions.map((d) => (
              <th key={d.name} scope="col">
                {d.name}
              </th>
            ))}
            <th scope="col" className="adm-num">
              Seconds
            </th>
          </tr>
        </thead>
        <tbody>
          {item.annotations.map((a) => (
            <tr key={a.annotator_id}>
              <th scope="row">
                {a.username}
                {a.gold_correct === false && <span className="badge badge-warn"> missed gold</span>}
              </th>
              {dimensions.map((d) => (
                <td key={d.name}>{valueText((a.values as Record<string, unknown>)[d.name])}</td>
              ))}
              <td className="adm-num">{a.time_spent_ms === null ? "—" : (a.time_spent_ms / 1000).toFixed(0)}</td>
            </tr>
          ))}
          <tr>
            <th scope="row">Consensus</th>
            {dimensions.map((d) => {
              const c = consensus.get(d.name);
              return (
                <td key={d.name}>
                  {c ? (
                    <>
                      <strong>{valueText(c.value)}</strong>{" "}
                      <span className="muted">
                        {c.method}, {percent(c.confidence)}
                      </span>
                    </>
                  ) : (
                    "—"
                  )}
                </td>
              );
            })}
            <td />
          </tr>
        </tbody>
      </table>
    </div>
  );
}
