/**
 * Review (admins): the items whose consensus is least confident on a dimension, the annotations
 * side by side, and the final value an admin sets (recorded as an adjudication, which overrides
 * the consensus). Items can also be made gold from here. Outputs are shown as text, never HTML.
 */
import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router-dom";
import { campaignQuery } from "../../api/queries";
import { parseRubric, type Dimension } from "../../rubric/types";
import { ErrorMessage } from "../../components/ErrorMessage";
import { AdjudicateForm } from "../../components/admin/quality/AdjudicateForm";
import { AnalyticsStatus } from "../../components/admin/AnalyticsStatus";
import { SideBySide } from "../../components/admin/quality/SideBySide";
import {
  REVIEW_PAGE,
  adjudicate,
  markGold,
  percent,
  qualityKeys,
  reviewItemQuery,
  reviewQuery,
  undoAdjudication,
  unmarkGold,
  valueText,
  type ReviewItem,
} from "../../components/admin/quality/qualityQueries";
import "../../components/admin/quality/quality.css";
import "./admin.css";

export default function ReviewPage() {
  const { id } = useParams();
  const campaignId = Number(id);
  if (!Number.isInteger(campaignId) || campaignId <= 0) {
    return <p className="alert alert-error">No such campaign.</p>;
  }
  return <Review key={campaignId} campaignId={campaignId} />;
}

function Review({ campaignId }: { campaignId: number }) {
  const campaign = useQuery({ ...campaignQuery(campaignId), staleTime: 15_000 });
  const dimensions = useMemo(
    () => (campaign.data ? parseRubric(campaign.data.rubric).dimensions.filter((d) => d.type !== "text") : []),
    [campaign.data],
  );
  const [chosen, setChosen] = useState("");
  const dimension = chosen || dimensions[0]?.name || "";
  const [offset, setOffset] = useState(0);
  const [resolved, setResolved] = useState(false);
  const [itemId, setItemId] = useState<number | null>(null);
  const isAdmin = campaign.data?.role === "admin";
  const queue = useQuery({ ...reviewQuery(campaignId, dimension, offset, resolved), enabled: isAdmin && dimension !== "" });

  if (campaign.isPending) return <p className="muted pad">Loading campaign…</p>;
  if (campaign.error) return <ErrorMessage error={campaign.error} />;
  if (!isAdmin) return <p className="alert alert-warn">Review is for the campaign's admins.</p>;

  return (
    <section className="adm-page">
      <header className="adm-dash-head">
        <h1 className="adm-title">Review: {campaign.data.name}</h1>
        <Link to={`/campaigns/${campaignId}`}>Dashboard</Link>
        <Link to={`/campaigns/${campaignId}/quality`}>Quality</Link>
      </header>
      <AnalyticsStatus campaignId={campaignId} what="refit" onFinished={() => void queue.refetch()} />
      <div className="qc-form adm-filters" role="group" aria-label="Review filters">
        <label>
          Dimension
          <select
            value={dimension}
            onChange={(e) => {
              setChosen(e.target.value);
              setOffset(0);
            }}
          >
            {dimensions.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={resolved} onChange={(e) => setResolved(e.target.checked)} /> Include gold
          and adjudicated
        </label>
      </div>
      <div className="qc-review">
        <section aria-labelledby="qc-queue">
          <h2 id="qc-queue">Most disagreement first</h2>
          {queue.isPending && <p className="muted">Loading…</p>}
          {queue.error && <ErrorMessage error={queue.error} />}
          {queue.data && queue.data.results.length === 0 && <p className="muted">Nothing to review on {dimension}.</p>}
          <ol className="qc-queue">
            {queue.data?.results.map((row) => (
              <li key={row.item_id}>
                <button
                  type="button"
                  aria-current={row.item_id === itemId}
                  onClick={() => setItemId(row.item_id)}
                >
                  <span className="qc-snippet">{row.output}</span>
                  <span className="muted">
                    {valueText(row.value)} · {percent(row.confidence)} of {row.n_labels} · {row.method}
                    {row.is_gold ? " · gold" : ""}
                  </span>
                </button>
              </li>
            ))}
          </ol>
          {queue.data && queue.data.count > REVIEW_PAGE && (
            <div className="qc-form">
              <button type="button" className="btn btn-small" disabled={offset === 0} onClick={() => setOffset(offset - REVIEW_PAGE)}>
                Previous
              </button>
              <span className="muted">
                {offset + 1}–{Math.min(offset + REVIEW_PAGE, queue.data.count)} of {queue.data.count}
              </span>
              <button
                type="button"
                className="btn btn-small"
                disabled={offset + REVIEW_PAGE >= queue.data.count}
                onClick={() => setOffset(offset + REVIEW_PAGE)}
              >
                Next
              </button>
            </div>
          )}
        </section>
        <section aria-labelledby="qc-item">
          {itemId === null ? (
            <p className="muted" id="qc-item">
              Pick an item to see its labels side by side.
            </p>
          ) : (
            <ItemReview campaignId={campaignId} itemId={itemId} dimensions={dimensions} dimension={dimension} />
          )}
        </section>
      </div>
    </section>
  );
}

interface ItemProps {
  campaignId: number;
  itemId: number;
  dimensions: Dimension[];
  dimension: string;
}

function ItemReview({ campaignId, itemId, dimensions, dimension }: ItemProps) {
  const qc = useQueryClient();
  const item = useQuery(reviewItemQuery(campaignId, itemId));
  const refresh = () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: qualityKeys.item(campaignId, itemId) }),
      qc.invalidateQueries({ queryKey: qualityKeys.reviewAll(campaignId) }),
    ]);
  const judge = useMutation({
    mutationFn: ({ value, note }: { value: unknown; note: string }) => adjudicate(campaignId, itemId, dimension, value, note),
    onSuccess: refresh,
  });
  const undo = useMutation({ mutationFn: () => undoAdjudication(campaignId, itemId, dimension), onSuccess: refresh });
  const gold = useMutation({
    mutationFn: (data: ReviewItem) =>
      data.is_gold ? unmarkGold(campaignId, itemId) : markGold(campaignId, itemId, categoricalConsensus(data, dimensions)),
    onSuccess: refresh,
  });

  if (item.isPending) return <p className="muted">Loading item…</p>;
  if (item.error) return <ErrorMessage error={item.error} />;
  const data = item.data;
  const dim = dimensions.find((d) => d.name === dimension);
  const adjudication = data.adjudications.find((a) => a.dimension === dimension);
  const current = data.consensus.find((c) => c.dimension === dimension);

  return (
    <article aria-labelledby="qc-item">
      <h2 id="qc-item">
        Item {data.id} · {data.model_name}
        {data.split === "private" && <span className="badge"> private</span>}
        {data.is_gold && <span className="badge badge-warn"> gold</span>}
      </h2>
      <p className="muted">Prompt{data.category ? ` (${data.category})` : ""}</p>
      <p className="qc-output">{data.prompt}</p>
      <p className="muted">Output</p>
      <p className="qc-output" data-testid="review-output">
        {data.output}
      </p>
      <SideBySide item={data} dimensions={dimensions} />
      {adjudication && (
        <div className="alert alert-warn" role="status">
          <span>
            {dimension} adjudicated as <strong>{valueText(adjudication.value)}</strong> by {adjudication.adjudicated_by ?? "?"}
            {adjudication.note ? `: ${adjudication.note}` : ""}
            {adjudication.fitted ? ` (the model had ${valueText((adjudication.fitted as { value?: unknown }).value)})` : ""}
          </span>
          <button type="button" className="btn btn-small" disabled={undo.isPending} onClick={() => undo.mutate()}>
            Undo adjudication
          </button>
        </div>
      )}
      {undo.error && <ErrorMessage error={undo.error} />}
      {dim && (
        <AdjudicateForm
          key={`${itemId}-${dimension}`}
          dim={dim}
          initial={current?.value}
          pending={judge.isPending}
          error={judge.error}
          onSubmit={(value, note) => judge.mutate({ value, note })}
        />
      )}
      <div className="qc-form">
        <button type="button" className="btn btn-small" disabled={gold.isPending} onClick={() => gold.mutate(data)}>
          {data.is_gold ? "Remove from gold" : "Make gold with the consensus values"}
        </button>
        {gold.error && <ErrorMessage error={gold.error} />}
      </div>
    </article>
  );
}

/** The categorical consensus values of an item: what "make gold" expects annotators to answer. */
function categoricalConsensus(item: ReviewItem, dimensions: Dimension[]): Record<string, unknown> {
  const categorical = new Set(dimensions.filter((d) => d.type === "choice" || d.type === "multi_choice").map((d) => d.name));
  return Object.fromEntries(item.consensus.filter((c) => categorical.has(c.dimension)).map((c) => [c.dimension, c.value]));
}
