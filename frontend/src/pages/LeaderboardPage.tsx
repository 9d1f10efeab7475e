/** The leaderboard: models ranked per campaign on one dimension, with 95% interval bars.
 *  Ranks are shared where intervals overlap; the prediction-powered estimate sits beside the
 *  human-only one, each harm score names its estimator and assumptions with the rate corrected
 *  for annotator error beside the uncorrected one, and a model markedly better on public than
 *  private prompts is flagged. */
import { useId, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { ErrorMessage } from "../components/ErrorMessage";
import { CorrectedCell, EstimatorCell } from "../components/scores/EstimateCell";
import { IntervalBar } from "../components/scores/IntervalBar";
import { formatInterval, formatScore } from "../components/scores/format";
import {
  PAGE_SIZE,
  campaignsForBoardQuery,
  leaderboardQuery,
  type BoardFilters,
  type LeaderboardRow,
} from "../components/scores/scoresQueries";
import { SplitPicker } from "../components/scores/SplitPicker";
import { AnalyticsStatus } from "../components/admin/AnalyticsStatus";
import "./admin/admin.css";

export default function LeaderboardPage() {
  const uid = useId();
  const [filters, setFilters] = useState<BoardFilters>({ split: "all", dimension: "harm", category: "", offset: 0 });
  const board = useQuery(leaderboardQuery(filters));
  const campaigns = useQuery(campaignsForBoardQuery);
  const set = (patch: Partial<BoardFilters>) => setFilters((f) => ({ ...f, offset: 0, ...patch }));
  const rows = board.data?.results ?? [];
  const dims = board.data?.filters.dimensions ?? [];
  const categories = board.data?.filters.categories ?? [];

  return (
    <div className="pad adm-stack">
      <h1>Leaderboard</h1>
      <p className="hint">
        Models ranked within each campaign. Bars are 95% intervals; models whose intervals overlap share a rank.
      </p>
      <div className="adm-row adm-align-center adm-filters" role="group" aria-label="Leaderboard filters">
        <label htmlFor={`${uid}-campaign`}>Campaign</label>
        <select
          id={`${uid}-campaign`}
          value={filters.campaign ?? ""}
          onChange={(e) => set({ campaign: e.target.value ? Number(e.target.value) : undefined })}
        >
          <option value="">All campaigns</option>
          {(campaigns.data?.results ?? []).map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
        <label htmlFor={`${uid}-dimension`}>Dimension</label>
        <select id={`${uid}-dimension`} value={filters.dimension} onChange={(e) => set({ dimension: e.target.value })}>
          {[...new Set([filters.dimension, ...dims])].map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
        <label htmlFor={`${uid}-category`}>Category</label>
        <select id={`${uid}-category`} value={filters.category} onChange={(e) => set({ category: e.target.value })}>
          <option value="">All categories</option>
          {categories.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <SplitPicker value={filters.split} onChange={(split) => set({ split })} />
      </div>
      {board.error && <ErrorMessage error={board.error} />}
      {filters.campaign !== undefined && (
        <AnalyticsStatus key={filters.campaign} campaignId={filters.campaign} what="both" onFinished={() => void board.refetch()} />
      )}
      {board.isSuccess && rows.length === 0 && <p className="muted">No scores for these filters yet.</p>}
      {board.isSuccess && rows.length === 0 && filters.campaign === undefined && (
        <p className="hint">Pick a campaign to see what its scores are waiting for.</p>
      )}
      {rows.length > 0 && <BoardTable rows={rows} />}
      {board.data && board.data.count > PAGE_SIZE && (
        <div className="adm-row">
          <button
            type="button"
            className="btn btn-small"
            disabled={filters.offset === 0}
            onClick={() => setFilters((f) => ({ ...f, offset: Math.max(0, f.offset - PAGE_SIZE) }))}
          >
            Previous
          </button>
          <span className="muted">
            {filters.offset + 1}–{Math.min(filters.offset + PAGE_SIZE, board.data.count)} of {board.data.count}
          </span>
          <button
            type="button"
            className="btn btn-small"
            disabled={!board.data.next}
            onClick={() => setFilters((f) => ({ ...f, offset: f.offset + PAGE_SIZE }))}
          >
            Next
          </button>
        </div>
      )}
    </div>
  );
}

function BoardTable({ rows }: { rows: LeaderboardRow[] }) {
  const hi = Math.max(1, ...rows.map((r) => (r.kind === "mean" ? (r.high ?? 0) : 1)));
  return (
    <table className="adm-table" aria-label="Leaderboard">
      <thead>
        <tr>
          <th scope="col">Rank</th>
          <th scope="col">Model</th>
          <th scope="col">Campaign</th>
          <th scope="col">Estimate (95% interval)</th>
          <th scope="col">Interval</th>
          <th scope="col">Labels</th>
          <th scope="col">Prediction-powered</th>
          <th scope="col">Estimator</th>
          <th scope="col">Corrected vs uncorrected</th>
          <th scope="col">Held-out check</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={`${r.campaign_id}-${r.model_id}`}>
            <td>{r.rank ?? "—"}</td>
            <td>
              <Link to={`/models/${r.model_id}`}>{r.model}</Link>
            </td>
            <td>{r.campaign}</td>
            <td title={r.method}>
              {r.value === null && r.estimate?.reason ? (
                <span className="muted">{r.estimate.reason}</span>
              ) : (
                <>
                  {formatScore(r.kind, r.value)} {formatInterval(r.kind, r.low, r.high)}
                  {r.higher_is_better ? " ↑" : " ↓"}
                </>
              )}
            </td>
            <td>
              <IntervalBar
                kind={r.kind}
                value={r.value}
                low={r.low}
                high={r.high}
                scale={r.kind === "mean" ? [0, hi] : [0, 1]}
                label={r.model}
              />
            </td>
            <td>
              {r.n} labels / {r.n_items} outputs
            </td>
            <td title={r.ppi?.method}>
              {r.ppi
                ? r.ppi.estimate === null
                  ? <span className="muted">{r.ppi.reason}</span>
                  : `${formatScore("rate", r.ppi.estimate)} ${formatInterval("rate", r.ppi.low, r.ppi.high)}`
                : "—"}
            </td>
            <td>
              <EstimatorCell estimate={r.estimate} />
            </td>
            <td>
              <CorrectedCell estimate={r.estimate} />
            </td>
            <td>
              {r.held_out?.flag ? (
                <strong title={r.held_out.rule}>Better on public prompts</strong>
              ) : r.held_out && r.held_out.private !== null ? (
                "ok"
              ) : (
                <span className="muted">—</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
