/**
 * Quality control (admins): agreement per dimension with the low ones flagged, pairwise kappa,
 * and each annotator's gold accuracy, agreement with consensus, time, skips and DS confusion;
 * paused annotators show why and can be resumed.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router-dom";
import { campaignQuery } from "../../api/queries";
import { ErrorMessage } from "../../components/ErrorMessage";
import { AgreementTable } from "../../components/admin/quality/AgreementTable";
import { AnnotatorQualityTable } from "../../components/admin/quality/AnnotatorQualityTable";
import { AnalyticsStatus } from "../../components/admin/AnalyticsStatus";
import {
  ALPHA_FLAG,
  fixed,
  qualityKeys,
  qualityQuery,
  requestRefit,
  resumeMember,
  type QualityOverview,
} from "../../components/admin/quality/qualityQueries";
import "../../components/admin/quality/quality.css";
import "./admin.css";

export default function QualityPage() {
  const { id } = useParams();
  const campaignId = Number(id);
  if (!Number.isInteger(campaignId) || campaignId <= 0) {
    return <p className="alert alert-error">No such campaign.</p>;
  }
  return <Quality key={campaignId} campaignId={campaignId} />;
}

function Quality({ campaignId }: { campaignId: number }) {
  const qc = useQueryClient();
  const campaign = useQuery({ ...campaignQuery(campaignId), staleTime: 15_000 });
  const isAdmin = campaign.data?.role === "admin";
  const quality = useQuery({ ...qualityQuery(campaignId), enabled: isAdmin });
  const refresh = () => qc.invalidateQueries({ queryKey: qualityKeys.overview(campaignId) });
  const refit = useMutation({ mutationFn: () => requestRefit(campaignId), onSuccess: refresh });
  const resume = useMutation({ mutationFn: (userId: number) => resumeMember(campaignId, userId), onSuccess: refresh });

  if (campaign.isPending) return <p className="muted pad">Loading campaign…</p>;
  if (campaign.error) return <ErrorMessage error={campaign.error} />;
  if (!isAdmin) return <p className="alert alert-warn">Quality control is for the campaign's admins.</p>;
  const q = quality.data;
  const flagged = q?.dimensions.filter((d) => d.flagged) ?? [];

  return (
    <section className="adm-page">
      <header className="adm-dash-head">
        <h1 className="adm-title">Quality: {campaign.data.name}</h1>
        <Link to={`/campaigns/${campaignId}`}>Dashboard</Link>
        <Link to={`/campaigns/${campaignId}/review`}>Review disagreements</Link>
        <button
          type="button"
          className="btn btn-small adm-push"
          disabled={refit.isPending || q?.refit_scheduled}
          onClick={() => refit.mutate()}
        >
          {q?.refit_running ? "Refitting…" : q?.refit_scheduled ? "Refit queued" : "Refit consensus now"}
        </button>
      </header>
      {refit.error && <ErrorMessage error={refit.error} />}
      <AnalyticsStatus campaignId={campaignId} what="refit" onFinished={() => void refresh()} />
      {quality.isPending && <p className="muted">Loading quality figures…</p>}
      {quality.error && <ErrorMessage error={quality.error} />}
      {q && (
        <>
          <RefitStatus q={q} />
          {flagged.length > 0 && (
            <p className="alert alert-warn" role="status">
              Agreement under {ALPHA_FLAG} on {flagged.map((d) => d.name).join(", ")}: treat these labels as
              tentative; review the disagreements or sharpen the instructions.
            </p>
          )}
          <section className="panel" aria-labelledby="qc-agreement">
            <h2 id="qc-agreement">Agreement</h2>
            <AgreementTable dimensions={q.dimensions} />
          </section>
          <section className="panel" aria-labelledby="qc-annotators">
            <h2 id="qc-annotators">Annotators</h2>
            {resume.error && <ErrorMessage error={resume.error} />}
            <AnnotatorQualityTable
              annotators={q.annotators}
              onResume={(userId) => resume.mutate(userId)}
              resuming={resume.isPending ? (resume.variables ?? null) : null}
            />
          </section>
          <KappaSection q={q} />
        </>
      )}
    </section>
  );
}

function RefitStatus({ q }: { q: QualityOverview }) {
  return (
    <p className="muted">
      Consensus by {q.consensus_method} · {q.n_annotations} annotations · {q.gold_items} gold items ·{" "}
      {q.last_refit_at
        ? `last refit ${new Date(q.last_refit_at).toLocaleString()} (${fixed(q.last_refit_s, 2)} s)`
        : "not refitted yet"}
      {q.last_error && <span className="alert alert-error"> Last refit failed: {q.last_error}</span>}
    </p>
  );
}

/** Pairwise Cohen's kappa for the choice dimensions, annotators by name. */
function KappaSection({ q }: { q: QualityOverview }) {
  const names = new Map(q.annotators.map((a) => [a.annotator_id, a.username]));
  const dims = q.dimensions.filter((d) => (d.kappa?.length ?? 0) > 0);
  if (dims.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="qc-kappa">
      <h2 id="qc-kappa">Pairwise Cohen's κ</h2>
      {dims.map((d) => (
        <details key={d.name}>
          <summary>
            {d.name} ({d.kappa?.length} pairs)
          </summary>
          <table className="adm-table">
            <thead>
              <tr>
                <th scope="col">Annotators</th>
                <th scope="col" className="adm-num">
                  Items in common
                </th>
                <th scope="col" className="adm-num">
                  κ
                </th>
              </tr>
            </thead>
            <tbody>
              {d.kappa?.map((p) => (
                <tr key={`${p.a}-${p.b}`}>
                  <th scope="row">
                    {names.get(p.a) ?? p.a} · {names.get(p.b) ?? p.b}
                  </th>
                  <td className="adm-num">{p.n}</td>
                  <td className="adm-num">{fixed(p.kappa)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ))}
    </section>
  );
}
