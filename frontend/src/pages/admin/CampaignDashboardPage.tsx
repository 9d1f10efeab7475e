/**
 * Campaign dashboard (admins and viewers): generation jobs with live progress, labeling progress,
 * hourly throughput, annotators, per-model scores with intervals, exports, and members and
 * settings for admins.
 */
import { Suspense, lazy, useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError } from "../../api/client";
import { campaignQuery, keys } from "../../api/queries";
import { ErrorMessage } from "../../components/ErrorMessage";
import { AnnotatorTable } from "../../components/admin/AnnotatorTable";
import { ExportPanel } from "../../components/admin/ExportPanel";
import { JobsPanel } from "../../components/admin/JobsPanel";
import { MembersPanel } from "../../components/admin/MembersPanel";
import { NewJobs } from "../../components/admin/NewJobs";
import { ScoresSection } from "../../components/admin/ScoresSection";
import { SettingsPanel } from "../../components/admin/SettingsPanel";
import { QualitySettingsPanel } from "../../components/admin/QualitySettingsPanel";
import { CareSettingsPanel } from "../../care/CareSettingsPanel";
import { ExposurePanel } from "../../care/ExposurePanel";
import { AgreementFlags } from "../../components/admin/quality/AgreementFlags";
import { ACTIVE_JOB_STATES, adminKeys, dashboardQuery, jobsQuery } from "../../components/admin/adminQueries";
import { parseRubric } from "../../components/admin/rubricDraft";
import "./admin.css";

// The chart library is the bulk of the dashboard's code: jobs and tables show before it loads.
const LabelingProgress = lazy(() =>
  import("../../components/admin/DashboardCharts").then((m) => ({ default: m.LabelingProgress })),
);
const ThroughputChart = lazy(() =>
  import("../../components/admin/DashboardCharts").then((m) => ({ default: m.ThroughputChart })),
);

export default function CampaignDashboardPage() {
  const { id } = useParams();
  const campaignId = Number(id);
  if (!Number.isInteger(campaignId) || campaignId <= 0) {
    return <p className="alert alert-error">No such campaign.</p>;
  }
  return <Dashboard key={campaignId} campaignId={campaignId} />;
}

function Dashboard({ campaignId }: { campaignId: number }) {
  const qc = useQueryClient();
  const campaign = useQuery({ ...campaignQuery(campaignId), staleTime: 15_000 });
  const role = campaign.data?.role ?? null;
  const isAdmin = role === "admin";
  const canView = isAdmin || role === "viewer";
  const jobs = useQuery({ ...jobsQuery(campaignId), enabled: canView });
  const dashboard = useQuery({ ...dashboardQuery(campaignId), enabled: canView });
  const [newJobsOpen, setNewJobsOpen] = useState(false);

  // When the last running job ends, the campaign's status and item counts have moved.
  const active = jobs.data?.filter((j) => ACTIVE_JOB_STATES.has(j.status)).length ?? 0;
  const wasActive = useRef(active);
  useEffect(() => {
    if (wasActive.current > 0 && active === 0) {
      void qc.invalidateQueries({ queryKey: keys.campaign(campaignId), exact: true });
      void qc.invalidateQueries({ queryKey: adminKeys.dashboard(campaignId) });
    }
    wasActive.current = active;
  }, [active, campaignId, qc]);

  if (campaign.isPending) return <p className="muted pad">Loading campaign…</p>;
  if (campaign.error) {
    const notFound = campaign.error instanceof ApiError && campaign.error.status === 404;
    return notFound ? <p className="alert alert-error">No such campaign, or you are not a member of it.</p> : <ErrorMessage error={campaign.error} />;
  }
  const c = campaign.data;
  if (!canView) {
    return (
      <section className="page">
        <h1 className="adm-title">{c.name}</h1>
        <p className="alert alert-warn">The dashboard is for the campaign's admins and viewers.</p>
        {role === "annotator" && (
          <Link className="btn btn-primary" to={`/campaigns/${c.id}/label`}>
            Open the labeling workspace
          </Link>
        )}
      </section>
    );
  }
  const rubric = parseRubric(c.rubric);

  return (
    <section className="adm-page adm-dashboard">
      <header className="adm-dash-head">
        <h1 className="adm-title">{c.name}</h1>
        <span className={`badge badge-${c.status}`}>{c.status}</span>
        <span className="badge">{role}</span>
        <span className="muted">
          {c.counts.prompts ?? 0} prompts{c.counts.private_prompts ? ` (${c.counts.private_prompts} private)` : ""} · overlap{" "}
          {c.overlap} · {c.lease_minutes} min leases
        </span>
        <Link className="btn adm-push" to={`/campaigns/${c.id}/classifier`}>
          Classifier
        </Link>
        {isAdmin && (
          <>
            <Link className="btn" to={`/campaigns/${c.id}/quality`}>
              Quality
            </Link>
            <Link className="btn" to={`/campaigns/${c.id}/review`}>
              Review
            </Link>
          </>
        )}
        {isAdmin && c.status === "labeling" && (
          <Link className="btn" to={`/campaigns/${c.id}/label`}>
            Label
          </Link>
        )}
      </header>

      {isAdmin && <AgreementFlags campaignId={c.id} />}

      <section className="panel" aria-labelledby="dash-jobs">
        <div className="adm-panel-head">
          <h2 id="dash-jobs">Generation jobs</h2>
          {active > 0 && <span className="muted">updating every 2 s</span>}
          {isAdmin && (
            <button
              type="button"
              className="btn btn-small adm-push"
              aria-expanded={newJobsOpen}
              onClick={() => setNewJobsOpen((o) => !o)}
            >
              {newJobsOpen ? "Close" : "New generation job…"}
            </button>
          )}
        </div>
        {isAdmin && newJobsOpen && (
          <div className="adm-subform">
            <NewJobs campaignId={c.id} onStarted={() => setNewJobsOpen(false)} />
          </div>
        )}
        {jobs.isPending && <p className="muted">Loading jobs…</p>}
        {jobs.error && <ErrorMessage error={jobs.error} />}
        {jobs.data && <JobsPanel jobs={jobs.data} campaignId={c.id} canRestart={isAdmin} />}
      </section>

      {dashboard.error && <ErrorMessage error={dashboard.error} />}
      {dashboard.data && (
        <>
          <div className="adm-two">
            <section className="panel" aria-labelledby="dash-progress">
              <h2 id="dash-progress">Labeling progress</h2>
              <Suspense fallback={<p className="muted">Loading chart…</p>}>
                <LabelingProgress progress={dashboard.data.progress} overlap={c.overlap} />
              </Suspense>
            </section>
            <section className="panel" aria-labelledby="dash-throughput">
              <h2 id="dash-throughput">Throughput</h2>
              <Suspense fallback={<p className="muted">Loading chart…</p>}>
                <ThroughputChart throughput={dashboard.data.throughput} />
              </Suspense>
            </section>
          </div>
          <section className="panel" aria-labelledby="dash-annotators">
            <h2 id="dash-annotators">Annotators</h2>
            <AnnotatorTable annotators={dashboard.data.annotators} />
          </section>
        </>
      )}
      {dashboard.isPending && <p className="muted">Loading labeling progress…</p>}
      {isAdmin && <ExposurePanel campaignId={c.id} />}

      <section className="panel" aria-labelledby="dash-scores">
        <h2 id="dash-scores">Scores per model</h2>
        <ScoresSection campaignId={c.id} rubric={rubric} />
      </section>

      <section className="panel" aria-labelledby="dash-export">
        <h2 id="dash-export">Export labels</h2>
        <ExportPanel campaignId={c.id} isAdmin={isAdmin} privatePrompts={c.counts.private_prompts ?? 0} />
      </section>

      {isAdmin && (
        <section className="panel" aria-labelledby="dash-members">
          <h2 id="dash-members">Members</h2>
          <MembersPanel campaignId={c.id} />
        </section>
      )}

      {isAdmin && (
        <section className="panel" aria-labelledby="dash-settings">
          <h2 id="dash-settings">Settings</h2>
          <SettingsPanel campaign={c} />
          <h3>Quality control and queue</h3>
          <QualitySettingsPanel campaign={c} />
          <h3>Content warning, blur and exposure limits</h3>
          <CareSettingsPanel campaign={c} />
        </section>
      )}
    </section>
  );
}
