/**
 * Generation jobs with live progress (outputs and chunks, rate, time left); admins can cancel a
 * queued or running job, and restart one (forcing it when it looks alive).
 */
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap } from "../../api/client";
import { ErrorMessage } from "../ErrorMessage";
import { ProgressBar } from "../ProgressBar";
import { describeParams } from "./decoding";
import { adminKeys, type GenerationJob } from "./adminQueries";

/** A running job whose heartbeat is older than this is taken to be dead (the server's default). */
const STALE_AFTER_MS = 120_000;

export function looksRunning(job: GenerationJob, now = Date.now()): boolean {
  if (job.status !== "running") return false;
  if (!job.heartbeat_at) return true;
  return now - new Date(job.heartbeat_at).getTime() < STALE_AFTER_MS;
}

function restartJob(id: number, force: boolean) {
  return unwrap(
    api.POST("/api/jobs/{id}/restart/", {
      params: { path: { id } },
      body: { force },
    }),
  );
}

function cancelJob(id: number) {
  return unwrap(api.POST("/api/jobs/{id}/cancel/", { params: { path: { id } } }));
}

/** Seconds as "45 s", "12 min", "2 h 5 min". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  const h = Math.floor(s / 3600);
  return `${h} h ${Math.round((s - h * 3600) / 60)} min`;
}

interface Props {
  jobs: GenerationJob[];
  campaignId: number;
  canRestart: boolean;
  now?: number;
}

export function JobsPanel({ jobs, campaignId, canRestart, now = Date.now() }: Props) {
  if (jobs.length === 0) {
    return <p className="muted">No generation job yet.</p>;
  }
  return (
    <ul className="adm-jobs">
      {jobs.map((job) => (
        <JobRow key={job.id} job={job} campaignId={campaignId} canRestart={canRestart} now={now} />
      ))}
    </ul>
  );
}

function fmt(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined ? "—" : n.toFixed(digits);
}

function ago(iso: string | null, now: number): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function JobRow({ job, campaignId, canRestart, now }: { job: GenerationJob; campaignId: number; canRestart: boolean; now: number }) {
  const qc = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const restart = useMutation({
    mutationFn: (force: boolean) => restartJob(job.id, force),
    onSuccess: () => {
      setConfirming(false);
      void qc.invalidateQueries({ queryKey: adminKeys.jobs(campaignId) });
    },
    onError: (error) => {
      // The server thinks it is alive: ask before taking it over.
      if (error instanceof ApiError && error.code === "job_running") setConfirming(true);
    },
  });
  const pct = job.total ? Math.round((job.done / job.total) * 100) : 0;
  const headingId = `job-${job.id}-title`;
  const running = looksRunning(job, now);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const cancel = useMutation({
    mutationFn: () => cancelJob(job.id),
    onSuccess: (updated) => {
      setConfirmCancel(false);
      qc.setQueryData<GenerationJob[]>(adminKeys.jobs(campaignId), (old) => old?.map((j) => (j.id === updated.id ? updated : j)));
      void qc.invalidateQueries({ queryKey: adminKeys.jobs(campaignId) });
    },
  });
  const cancellable = job.status === "queued" || job.status === "running";
  const showRestartError = restart.error && !(restart.error instanceof ApiError && restart.error.code === "job_running");

  return (
    <li className={`adm-job adm-job-${job.status}`} aria-labelledby={headingId}>
      <div className="adm-job-head">
        <h3 id={headingId} className="adm-job-title">
          {job.model_name} <span className="muted">#{job.id}</span>
        </h3>
        <span className={`badge adm-status-${job.status}`}>{job.status}</span>
        {job.attempts > 1 && <span className="muted">attempt {job.attempts}</span>}
        {canRestart && cancellable && (
          <button
            type="button"
            className="btn btn-small btn-danger adm-push"
            disabled={cancel.isPending}
            aria-expanded={confirmCancel}
            onClick={() => setConfirmCancel(true)}
          >
            {cancel.isPending ? "Cancelling…" : "Cancel job"}
          </button>
        )}
        {canRestart && (
          <button
            type="button"
            className={`btn btn-small${cancellable ? "" : " adm-push"}`}
            disabled={restart.isPending}
            onClick={() => (running ? setConfirming(true) : restart.mutate(false))}
          >
            {restart.isPending ? "Restarting…" : "Restart"}
          </button>
        )}
      </div>
      <div className="adm-job-progress">
        <ProgressBar value={job.done} max={job.total} label={`Generation progress of ${job.model_name} (job ${job.id})`} />
        <span className="adm-num">
          {job.done} / {job.total} ({pct}%)
        </span>
      </div>
      <p className="hint adm-job-eta" data-testid={`job-${job.id}-eta`}>
        {job.chunks_total > 0 && (
          <>
            {job.chunks_done} of {job.chunks_total} chunk{job.chunks_total === 1 ? "" : "s"} done
          </>
        )}
        {job.eta_s !== null && job.eta_s !== undefined && <> · about {duration(job.eta_s)} left at the current rate</>}
        {job.status === "queued" && " · waiting for a gpu worker"}
        {job.status === "cancelled" && " · cancelled: stored outputs stay; Restart generates only the rest"}
      </p>
      <dl className="adm-job-stats">
        <div>
          <dt>tokens/s</dt>
          <dd>{fmt(job.tokens_per_s)}</dd>
        </div>
        <div>
          <dt>items/s</dt>
          <dd>{fmt(job.items_per_s, 2)}</dd>
        </div>
        <div>
          <dt>device</dt>
          <dd>
            {job.device || "—"}
            {job.dtype ? ` · ${job.dtype}` : ""}
          </dd>
        </div>
        <div>
          <dt>heartbeat</dt>
          <dd>{ago(job.heartbeat_at, now)}</dd>
        </div>
        <div className="adm-job-params">
          <dt>decoding</dt>
          <dd>{describeParams(job.params)}</dd>
        </div>
      </dl>
      {job.error && (
        <div className="adm-job-error">
          <strong>Error</strong>
          <pre>{job.error}</pre>
        </div>
      )}
      {confirming && (
        <div className="alert alert-warn" role="alertdialog" aria-labelledby={`job-${job.id}-confirm`}>
          <span id={`job-${job.id}-confirm`}>
            Job #{job.id} looks running (heartbeat {ago(job.heartbeat_at, now)}). Restart it anyway? Do this only if its
            worker died: the old run stops at its next batch, and finished outputs are kept.
          </span>
          <button type="button" className="btn btn-small btn-danger" onClick={() => restart.mutate(true)} disabled={restart.isPending}>
            Restart anyway
          </button>
          <button type="button" className="btn btn-small" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      {confirmCancel && (
        <div className="alert alert-warn" role="alertdialog" aria-labelledby={`job-${job.id}-cancel`}>
          <span id={`job-${job.id}-cancel`}>
            Cancel job #{job.id}? Queued chunks will not run and running ones stop at their next batch. The {job.done}{" "}
            stored outputs stay, and a restart generates only the rest.
          </span>
          <button type="button" className="btn btn-small btn-danger" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
            Yes, cancel the job
          </button>
          <button type="button" className="btn btn-small" onClick={() => setConfirmCancel(false)}>
            Keep it running
          </button>
        </div>
      )}
      {cancel.error && <ErrorMessage error={cancel.error} />}
      {showRestartError && <ErrorMessage error={restart.error} />}
      {confirming && restart.error instanceof ApiError && restart.error.code === "job_running" && restart.variables && (
        <ErrorMessage error={restart.error} />
      )}
    </li>
  );
}
