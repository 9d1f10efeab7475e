/** The active version's predictions, most probably harmful first. Outputs are model text:
 * rendered as text nodes only. */
import { useQuery } from "@tanstack/react-query";
import { ErrorMessage } from "../../ErrorMessage";
import { predictionsQuery } from "./classifierQueries";

export function PredictionsTable({ campaignId, target }: { campaignId: number; target: string }) {
  const predictions = useQuery(predictionsQuery(campaignId, target));
  if (predictions.isPending) return <p className="muted">Loading predictions…</p>;
  if (predictions.error) return <ErrorMessage error={predictions.error} />;
  const { results, count } = predictions.data;
  if (!count) return <p className="muted">No predictions yet: the first promoted version predicts every item.</p>;
  return (
    <table className="table">
      <caption className="muted">
        Top {results.length} of {count} items by P({target} positive)
      </caption>
      <thead>
        <tr>
          <th scope="col">Item</th>
          <th scope="col">Output</th>
          <th scope="col">Model</th>
          <th scope="col">Predicted</th>
          <th scope="col">P</th>
          <th scope="col">Priority</th>
        </tr>
      </thead>
      <tbody>
        {results.map((p) => (
          <tr key={p.item_id}>
            <td>{p.item_id}</td>
            <td className="clf-text">{p.text}</td>
            <td>{p.model}</td>
            <td>{p.label}</td>
            <td>{p.positive_probability.toFixed(3)}</td>
            <td>{p.priority === null ? "–" : p.priority.toFixed(3)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
