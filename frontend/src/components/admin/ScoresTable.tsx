/** Per metric (rows) and model (columns): the estimate, its 95% interval and n; the method on hover. */
import type { ModelScores } from "./adminQueries";
import { formatInterval, formatPoint, metricValue, type Metric, type SplitKey } from "./scoreMetrics";

export function ScoresTable({ metrics, models, split }: { metrics: Metric[]; models: ModelScores[]; split: SplitKey }) {
  if (!models.length) return <p className="muted">No model has outputs in this campaign yet.</p>;
  const methods = [...new Set(metrics.map((m) => m.method))];
  return (
    <div className="adm-table-wrap">
      <table className="adm-table adm-scores">
        <caption className="sr-only">Scores per model with 95% intervals ({split} prompts)</caption>
        <thead>
          <tr>
            <th scope="col">Dimension</th>
            {models.map((m) => (
              <th scope="col" key={m.model_id} className="adm-num">
                {m.model}
                <div className="adm-sub">
                  {m[split].n_labeled_items}/{m[split].n_items} items labeled · {m[split].n_annotations} annotations
                </div>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {metrics.map((metric) => (
            <tr key={metric.key} className={metric.headline ? "adm-headline" : "adm-option-row"}>
              <th scope="row" title={metric.method}>
                {metric.title}
              </th>
              {models.map((model) => {
                const v = metricValue(model, split, metric);
                return (
                  <td key={model.model_id} className="adm-num" title={`${metric.method}`}>
                    {v && v.point !== null ? (
                      <>
                        <span className="adm-point">{formatPoint(metric, v.point)}</span>{" "}
                        <span className="adm-ci">{formatInterval(metric, v)}</span>{" "}
                        <span className="adm-n">{v.k !== undefined ? `${v.k}/${v.n}` : `n=${v.n}`}</span>
                      </>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <ul className="adm-methods hint">
        {methods.map((m) => (
          <li key={m}>{m}</li>
        ))}
      </ul>
    </div>
  );
}
