/**
 * The harm classifier of a campaign (admins and viewers): targets with their active versions,
 * training runs with metrics and status, the selected run's reliability diagram and confusion
 * matrix, the active version's predictions, and (admins) the retrain button.
 */
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { campaignQuery } from "../../api/queries";
import { ErrorMessage } from "../../components/ErrorMessage";
import { PredictionsTable } from "../../components/admin/classifier/PredictionsTable";
import { RetrainForm } from "../../components/admin/classifier/RetrainForm";
import { AnalyticsStatus } from "../../components/admin/AnalyticsStatus";
import { RunDetail, fmt } from "../../components/admin/classifier/RunDetail";
import { RunsTable } from "../../components/admin/classifier/RunsTable";
import { overviewQuery, runsQuery, type Overview } from "../../components/admin/classifier/classifierQueries";
import "./admin.css";
import "../../components/admin/classifier/classifier.css";

export default function ClassifierPage() {
  const { id } = useParams();
  const campaignId = Number(id);
  if (!Number.isInteger(campaignId) || campaignId <= 0) {
    return <p className="alert alert-error">No such campaign.</p>;
  }
  return <Classifier key={campaignId} campaignId={campaignId} />;
}

function Classifier({ campaignId }: { campaignId: number }) {
  const campaign = useQuery({ ...campaignQuery(campaignId), staleTime: 15_000 });
  const role = campaign.data?.role ?? null;
  const canView = role === "admin" || role === "viewer";
  const overview = useQuery({ ...overviewQuery(campaignId), enabled: canView });
  const runs = useQuery({ ...runsQuery(campaignId), enabled: canView });
  const [selected, setSelected] = useState<number | null>(null);

  if (campaign.isPending) return <p className="muted pad">Loading campaign…</p>;
  if (campaign.error) return <ErrorMessage error={campaign.error} />;
  if (!canView) return <p className="alert alert-warn">The classifier page is for the campaign's admins and viewers.</p>;
  const shown = selected ?? runs.data?.results.find((r) => r.metrics)?.id ?? null;

  return (
    <section className="adm-page adm-dashboard">
      <header className="adm-dash-head">
        <h1 className="adm-title">Harm classifier · {campaign.data.name}</h1>
        <Link className="btn adm-push" to={`/campaigns/${campaignId}`}>
          Dashboard
        </Link>
      </header>
      {overview.error && <ErrorMessage error={overview.error} />}
      <AnalyticsStatus campaignId={campaignId} what="refit" onFinished={() => void overview.refetch()} />
      {overview.data && <Targets overview={overview.data} />}
      {overview.data && role === "admin" && (
        <section className="panel" aria-labelledby="clf-retrain">
          <h2 id="clf-retrain">Retrain</h2>
          <RetrainForm campaignId={campaignId} targets={overview.data.targets} primary={overview.data.primary_target} />
        </section>
      )}
      <section className="panel" aria-labelledby="clf-runs">
        <h2 id="clf-runs">Training runs</h2>
        {runs.isPending && <p className="muted">Loading runs…</p>}
        {runs.error && <ErrorMessage error={runs.error} />}
        {runs.data && <RunsTable runs={runs.data.results} selected={shown} onSelect={setSelected} />}
        {shown !== null && <RunDetail campaignId={campaignId} runId={shown} />}
      </section>
      {overview.data?.primary_target && (
        <section className="panel" aria-labelledby="clf-predictions">
          <h2 id="clf-predictions">Predictions of the active version</h2>
          <PredictionsTable campaignId={campaignId} target={overview.data.primary_target} />
        </section>
      )}
    </section>
  );
}

function Targets({ overview }: { overview: Overview }) {
  return (
    <section className="panel" aria-labelledby="clf-targets">
      <h2 id="clf-targets">Targets and active versions</h2>
      <p className="muted">
        Queue: {overview.queue_strategy}
        {overview.queue_strategy === "uncertainty" && ` (${Math.round(overview.random_share * 100)}% kept random)`} ·{" "}
        {overview.retrain_every ? `retrains every ${overview.retrain_every} new labels` : "retrains only by hand"}
      </p>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Target</th>
            <th scope="col">Labels</th>
            <th scope="col">New since last run</th>
            <th scope="col">Active version</th>
            <th scope="col">Kind</th>
            <th scope="col" title="Macro-F1 of a document classifier; character F1 of a span tagger">
              Macro-F1 / char F1
            </th>
            <th scope="col">AUROC</th>
            <th scope="col">ECE</th>
          </tr>
        </thead>
        <tbody>
          {overview.targets.map((t) => (
            <tr key={t.name}>
              <th scope="row">
                {t.name}
                {t.in_progress && <span className="badge badge-running">training</span>}
              </th>
              <td>{t.labels}</td>
              <td>{t.new_labels}</td>
              <td>{t.active_version?.name ?? "none"}</td>
              <td>{t.kind === "span_tagger" ? "span tagger" : "document"}</td>
              <td>{fmt(t.kind === "span_tagger" ? t.active_version?.metrics?.char_f1 : t.active_version?.metrics?.macro_f1)}</td>
              <td>{fmt(t.active_version?.metrics?.auroc)}</td>
              <td>{fmt(t.active_version?.metrics?.ece)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
