/** How a harm score was estimated: the estimator served (and ranked by), corrected beside
 *  uncorrected, the labels in the uniform sample over the items predicted, and the assumptions. */
import type { LeaderboardRow } from "./scoresQueries";
import { formatInterval, formatScore } from "./format";

type Estimate = NonNullable<LeaderboardRow["estimate"]>;

const NAMES: Record<string, string> = {
  human: "human-only",
  ppi: "prediction-powered",
  rogan_gladen: "noise-corrected (Rogan-Gladen)",
};

function rate(e: { value: number | null; low: number | null; high: number | null; reason: string | null }) {
  if (e.value === null) return <span className="muted">{e.reason ?? "—"}</span>;
  return `${formatScore("rate", e.value)} ${formatInterval("rate", e.low, e.high)}`;
}

export function EstimatorCell({ estimate }: { estimate: Estimate | null | undefined }) {
  if (!estimate) return <span className="muted">—</span>;
  return (
    <div>
      <div>
        {NAMES[estimate.estimator] ?? estimate.estimator}
        <span className="muted"> · ranked by the {estimate.ranked_by} rate</span>
      </div>
      <div className="muted">
        {estimate.n_labeled} labeled / {estimate.n_predicted} predicted
      </div>
      <details>
        <summary>Assumptions</summary>
        <p>{estimate.assumptions}</p>
        {estimate.sampling.reason && <p>{estimate.sampling.reason}</p>}
      </details>
    </div>
  );
}

export function CorrectedCell({ estimate }: { estimate: Estimate | null | undefined }) {
  if (!estimate) return <span className="muted">—</span>;
  return (
    <dl className="adm-summary">
      <dt>Corrected</dt>
      <dd title={estimate.corrected.method}>{rate(estimate.corrected)}</dd>
      <dt>Uncorrected</dt>
      <dd title={estimate.uncorrected.method}>{rate(estimate.uncorrected)}</dd>
    </dl>
  );
}
