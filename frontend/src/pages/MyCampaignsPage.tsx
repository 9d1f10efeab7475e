import { Link } from "react-router-dom";
import { useInfiniteQuery, useQueries } from "@tanstack/react-query";
import { campaignsQuery, myProgressQuery, type Campaign } from "../api/queries";
import { ErrorMessage } from "../components/ErrorMessage";
import { ProgressBar } from "../components/ProgressBar";

const CAN_LABEL = new Set(["admin", "annotator"]);
const CAN_VIEW_DASHBOARD = new Set(["admin", "viewer"]);
const OPEN = new Set(["generating", "labeling"]);

export default function MyCampaignsPage() {
  const campaigns = useInfiniteQuery(campaignsQuery);
  const list = campaigns.data?.campaigns ?? [];
  const labelable = list.filter((c) => c.role && CAN_LABEL.has(c.role));
  const progress = useQueries({
    // While outputs are being generated the card keeps counting them.
    queries: labelable.map((c) => ({
      ...myProgressQuery(c.id),
      refetchInterval: (q: { state: { data?: { generating?: unknown } } }) => (q.state.data?.generating ? 5000 : false),
    })),
  });
  const progressById = new Map(labelable.map((c, i) => [c.id, progress[i]?.data]));

  return (
    <section className="page">
      <h1>My campaigns</h1>
      {campaigns.isPending && <p className="muted">Loading campaigns…</p>}
      {campaigns.isError && !campaigns.isFetchNextPageError && <ErrorMessage error={campaigns.error} />}
      {campaigns.isSuccess && list.length === 0 && (
        <p className="muted">You are not a member of any campaign yet. Ask an admin to add you.</p>
      )}
      <ul className="campaign-list">
        {list.map((c) => (
          <CampaignRow key={c.id} campaign={c} progress={progressById.get(c.id)} />
        ))}
      </ul>
      {campaigns.hasNextPage && (
        <p className="campaign-actions" style={{ justifyContent: "center" }}>
          <button
            type="button"
            className="btn"
            onClick={() => void campaigns.fetchNextPage()}
            disabled={campaigns.isFetchingNextPage}
          >
            {campaigns.isFetchingNextPage ? "Loading…" : `Show more (${list.length} of ${campaigns.data?.count})`}
          </button>
        </p>
      )}
      {campaigns.isFetchNextPageError && <ErrorMessage error={campaigns.error} />}
    </section>
  );
}

function CampaignRow({
  campaign: c,
  progress,
}: {
  campaign: Campaign;
  progress: { done: number; available: number; generating?: { done: number; total: number } | null } | undefined;
}) {
  const canLabel = !!c.role && CAN_LABEL.has(c.role);
  const open = OPEN.has(c.status);
  const total = progress ? progress.done + progress.available : 0;
  return (
    <li className="campaign-card">
      <div className="campaign-card-head">
        <h2 className="campaign-name">{c.name}</h2>
        <span className={`badge badge-${c.status}`}>{c.status}</span>
        {c.role && <span className="badge">{c.role}</span>}
      </div>
      {canLabel && (
        <div className="campaign-progress">
          {progress ? (
            <>
              <ProgressBar value={progress.done} max={total} label={`Your progress in ${c.name}`} />
              <span className="muted">
                {progress.done} done · {progress.available} left for you
                {progress.generating &&
                  ` · Outputs are being generated (${progress.generating.done} of ${progress.generating.total})`}
              </span>
            </>
          ) : (
            <span className="muted">Loading your progress…</span>
          )}
        </div>
      )}
      <div className="campaign-actions">
        {canLabel && open && (
          <Link className="btn btn-primary" to={`/campaigns/${c.id}/label`}>
            {progress && progress.available === 0 && progress.generating
              ? "Open (outputs on the way)"
              : progress && progress.done > 0
                ? "Continue labeling"
                : "Start labeling"}
          </Link>
        )}
        {canLabel && !open && <span className="muted">Not open for labeling ({c.status})</span>}
        {c.role && CAN_VIEW_DASHBOARD.has(c.role) && (
          <Link className="btn" to={`/campaigns/${c.id}`}>
            Dashboard
          </Link>
        )}
      </div>
    </li>
  );
}
