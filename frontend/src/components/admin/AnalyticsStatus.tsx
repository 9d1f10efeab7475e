/**
 * What a campaign's analytics are waiting for, polled from /analytics-status/: the consensus
 * refit and the score refresh (requested when, running since when, last finished when and how
 * long it took) and the queue ahead of them. Polls every few seconds while something waits, and
 * calls `onFinished` when the refit or refresh it watches completes, so the page refetches.
 */
import { useEffect, useRef } from "react";
import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";

export type AnalyticsStatusData = Schemas["AnalyticsStatus"];
export type Watched = "refit" | "scores" | "both";

export const WAITING_POLL_MS = 3000;
const IDLE_POLL_MS = 30_000;

export const analyticsStatusKey = (id: number) => ["campaigns", id, "analytics-status"] as const;

export function isWaiting(s: AnalyticsStatusData, what: Watched): boolean {
  const refit = s.refit.waiting || s.refit.running;
  const scores = s.scores.waiting;
  return what === "refit" ? refit : what === "scores" ? scores : refit || scores;
}

export const analyticsStatusQuery = (id: number, what: Watched) =>
  queryOptions({
    queryKey: analyticsStatusKey(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/analytics-status/", { params: { path: { id } } })),
    staleTime: 0,
    refetchInterval: (query) => (query.state.data && isWaiting(query.state.data, what) ? WAITING_POLL_MS : IDLE_POLL_MS),
  });

function clock(iso: string | null | undefined): string {
  if (!iso) return "never";
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function took(s: number | null | undefined): string {
  return s === null || s === undefined ? "" : ` (took ${s < 10 ? s.toFixed(1) : Math.round(s)} s)`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The queue ahead, as counted by the server; nothing is said about what it did not count. */
export function queueText(q: AnalyticsStatusData["queue"]): string {
  const parts: string[] = [];
  if (q.ahead > 0) parts.push(`behind ${plural(q.ahead, "earlier request")} (refits or score refreshes) of other campaigns`);
  else parts.push("nothing from other campaigns ahead of it");
  if (q.waiting_in_broker !== null && q.waiting_in_broker !== undefined) {
    parts.push(`${plural(q.waiting_in_broker, "task")} waiting in the ${q.name} queue for a worker`);
  }
  return parts.join("; ");
}

export function refitLine(s: AnalyticsStatusData): string {
  const r = s.refit;
  const last = r.last_at ? `Last consensus refit at ${clock(r.last_at)}${took(r.last_s)}.` : "No consensus refit has run yet.";
  if (r.running) return `Consensus refit running since ${clock(r.started_at)}. ${last}`;
  if (r.waiting) return `Consensus refit queued at ${clock(r.requested_at)}: ${queueText(s.queue)}. ${last}`;
  return last;
}

export function scoresLine(s: AnalyticsStatusData): string {
  const r = s.scores;
  const last = r.last_at ? `Scores computed at ${clock(r.last_at)}${took(r.last_s)}.` : "Scores not computed yet.";
  if (r.waiting) return `Score refresh queued at ${clock(r.requested_at)}: ${queueText(s.queue)}. ${last}`;
  if (r.stale) return `${last} Newer labels exist; a refresh is queued when the scores are read.`;
  return last;
}

interface Props {
  campaignId: number;
  what: Watched;
  /** Called when a refit or refresh that was waiting has finished. */
  onFinished?: () => void;
}

export function AnalyticsStatus({ campaignId, what, onFinished }: Props) {
  const status = useQuery(analyticsStatusQuery(campaignId, what));
  const s = status.data;
  const finishedMark = s ? `${s.refit.last_at ?? ""}|${s.scores.last_at ?? ""}` : null;
  const previous = useRef<string | null>(null);
  const finished = useRef(onFinished);
  finished.current = onFinished;
  useEffect(() => {
    if (finishedMark === null) return;
    if (previous.current !== null && previous.current !== finishedMark) finished.current?.();
    previous.current = finishedMark;
  }, [finishedMark]);

  if (!s) return null;
  const waiting = isWaiting(s, what);
  return (
    <div className={`adm-analytics-status${waiting ? " is-waiting" : ""}`} role="status" aria-live="polite" data-testid="analytics-status">
      {(what === "refit" || what === "both") && <p className="adm-status-line">{refitLine(s)}</p>}
      {(what === "scores" || what === "both") && <p className="adm-status-line">{scoresLine(s)}</p>}
      {s.refit.last_error && (what === "refit" || what === "both") && (
        <p className="adm-error-text">The last refit failed: {s.refit.last_error}</p>
      )}
      <p className="hint adm-status-checked">
        Checked at {clock(s.checked_at)}
        {waiting ? ` · updating every ${WAITING_POLL_MS / 1000} s` : ""}
      </p>
    </div>
  );
}
