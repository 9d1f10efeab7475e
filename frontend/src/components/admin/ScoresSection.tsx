/** Scores per model with a split selector: the interval chart above, the table below. */
import { useId, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { ErrorMessage } from "../ErrorMessage";
import { scoresQuery, type CampaignScores } from "./adminQueries";
import type { Rubric } from "./rubricDraft";
import { buildMetrics, dimensionsWithoutHeadline, metricValue, type Metric, type SplitKey } from "./scoreMetrics";
import { ScoresChart } from "./ScoresChart";
import { ScoresTable } from "./ScoresTable";
import { SplitPicker } from "../scores/SplitPicker";
import { AnalyticsStatus } from "./AnalyticsStatus";

export function ScoresSection({ campaignId, rubric }: { campaignId: number; rubric?: Rubric }) {
  const uid = useId();
  const scores = useQuery(scoresQuery(campaignId));
  const [split, setSplit] = useState<SplitKey>("all");
  const [breakdown, setBreakdown] = useState(false);
  const models = scores.data?.models ?? [];
  const metrics = buildMetrics(models, split, rubric);
  const optionOnly = dimensionsWithoutHeadline(metrics);
  const chartMetrics = metrics.filter((m) => m.headline || breakdown);
  const hasData = (m: Metric) => models.some((model) => (metricValue(model, split, m)?.point ?? null) !== null);
  const tableMetrics = collapseEmpty(
    metrics.filter((m) => m.headline || breakdown || optionOnly.has(m.dimension)),
    hasData,
  );

  return (
    <div className="adm-stack">
      <div className="adm-row adm-align-center">
        <SplitPicker value={split} onChange={setSplit} />
        <span className="adm-check">
          <input type="checkbox" id={`${uid}-bd`} checked={breakdown} onChange={(e) => setBreakdown(e.target.checked)} />
          <label htmlFor={`${uid}-bd`}>Show every option</label>
        </span>
        <button
          type="button"
          className="btn btn-small adm-push"
          onClick={() => void scores.refetch()}
          disabled={scores.isFetching}
        >
          {scores.isFetching ? "Refreshing…" : "Refresh scores"}
        </button>
      </div>
      {scores.isPending && <p className="muted">Loading scores…</p>}
      {scores.data?.summary && <SummaryNote summary={scores.data.summary} />}
      <AnalyticsStatus campaignId={campaignId} what="both" onFinished={() => void scores.refetch()} />
      {scores.error && <ErrorMessage error={scores.error} />}
      {scores.isSuccess && models.length === 0 && <p className="muted">No model has outputs in this campaign yet.</p>}
      {models.length > 0 && (
        <>
          <p className="hint">
            Points are estimates; bars are 95% intervals. Models whose bars do not overlap differ.
          </p>
          <ScoresChart metrics={chartMetrics} models={models} split={split} />
          <ScoresTable metrics={tableMetrics} models={models} split={split} />
        </>
      )}
    </div>
  );
}

/** A dimension none of whose options has a label yet (e.g. a condition never met) takes one row. */
function collapseEmpty(metrics: Metric[], hasData: (m: Metric) => boolean): Metric[] {
  const out: Metric[] = [];
  const collapsed = new Set<string>();
  for (const m of metrics) {
    if (m.headline || m.option === undefined) {
      out.push(m);
      continue;
    }
    const siblings = metrics.filter((x) => x.dimension === m.dimension && !x.headline);
    if (siblings.some(hasData)) {
      out.push(m);
    } else if (!collapsed.has(m.dimension)) {
      collapsed.add(m.dimension);
      out.push({ ...m, key: `${m.dimension}=*`, title: `${m.dimensionLabel}: no labels yet` });
    }
  }
  return out;
}

/** Scores are a materialized summary: say when it was computed and whether a refresh is due. */
function SummaryNote({ summary }: { summary: CampaignScores["summary"] }) {
  const when = summary.computed_at ? new Date(summary.computed_at).toLocaleString() : null;
  return (
    <p className="hint" role="status">
      {when ? `Computed ${when}.` : "Not computed yet."}
      {summary.stale && " New labels since; the scores are being recomputed (status below)."}
    </p>
  );
}
