import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, loginUrl, unwrap } from "../api/client";
import { campaignQuery, keys, type Assignment, type HistoryEntry, type Progress } from "../api/queries";
import { CareGate, careGateApplies } from "../care/CareGate";
import { ErrorMessage } from "../components/ErrorMessage";
import { parseRubric, type Rubric, type Values } from "../rubric/types";
import { AnnotationTask } from "../workspace/AnnotationTask";
import { clearDraft, sweepDrafts } from "../workspace/draft";
import { HistoryPanel } from "../workspace/HistoryPanel";
import { isAuthError, useLeaseQueue, type Rejection } from "../workspace/queue";
import { SaveProblems } from "../workspace/SaveProblems";
import NotFoundPage from "./NotFoundPage";

/** How often an empty queue looks again while outputs are being generated. */
const GENERATING_POLL_MS = 4000;

function leaseErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "campaign_not_open") return `This campaign is not open for labeling: ${error.message}.`;
    // Paused for low gold accuracy: the server says why; an admin can resume.
    if (error.code === "paused") return `${error.message}. Ask the campaign's admins to resume you.`;
    if (isAuthError(error)) return "Your session has ended. Sign in again to go on.";
    if (error.status === 403) return "You are not an annotator of this campaign.";
    if (error.status === 404) return "There is no such campaign.";
    return error.message;
  }
  return "Could not get an item to label.";
}

/** "Outputs are being generated (3 of 10)", or null when nothing is being generated. */
export function generatingText(progress: Pick<Progress, "generating"> | null | undefined): string | null {
  const g = progress?.generating;
  if (!g) return null;
  return `Outputs are being generated (${g.done} of ${g.total})`;
}

interface Editing {
  entry: HistoryEntry;
  rejection: Rejection | null;
  saving: boolean;
}

function editAssignment(entry: HistoryEntry): Assignment {
  const at = entry.finished_at ?? new Date().toISOString();
  return { id: entry.id, item: entry.item, status: "submitted", leased_at: at, expires_at: "9999-12-31T00:00:00Z" };
}

export default function WorkspacePage() {
  const id = Number(useParams().id);
  const valid = Number.isInteger(id) && id > 0;
  const queryClient = useQueryClient();
  const campaign = useQuery({ ...campaignQuery(id), enabled: valid });
  const queue = useLeaseQueue(id, valid);
  const { lease, current, progress } = queue;
  const [historyOpen, setHistoryOpen] = useState(false);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => sweepDrafts(), []);

  const rubric = useMemo((): Rubric | Error | null => {
    if (!campaign.data) return null;
    try {
      return parseRubric(campaign.data.rubric);
    } catch (err) {
      return err as Error;
    }
  }, [campaign.data]);

  const emptyQueue = !!lease.data && !current && !queue.syncing;
  const { nothingShown, refresh } = queue;
  useEffect(() => {
    if (emptyQueue) nothingShown();
  }, [emptyQueue, nothingShown]);

  // Outputs are still being generated: look again now and then, and show items as they arrive.
  const generating = !!progress?.generating;
  useEffect(() => {
    if (!emptyQueue || !generating) return;
    const timer = setInterval(() => void refresh(), GENERATING_POLL_MS);
    return () => clearInterval(timer);
  }, [emptyQueue, generating, refresh]);

  // The session ended (logged out in another tab): nothing is lost (the item stays leased and
  // its draft stored); sign in again and come back to the same item.
  const authLost = queue.authLost || isAuthError(lease.error) || isAuthError(campaign.error);
  useEffect(() => {
    if (authLost) window.location.assign(loginUrl(`/campaigns/${id}/label`));
  }, [authLost, id]);

  const undoSkip = useCallback(
    async (assignmentId: number) => {
      setNotice(null);
      const problem = await queue.unskip(assignmentId);
      if (problem) setNotice(`Could not undo the skip: ${problem}`);
      void queryClient.invalidateQueries({ queryKey: keys.myHistory(id) });
    },
    [queue, queryClient, id],
  );

  const saveEdit = useCallback(
    async (entry: HistoryEntry, values: Values) => {
      setEditing((e) => e && { ...e, saving: true });
      try {
        await unwrap(api.POST("/api/assignments/{id}/edit/", { params: { path: { id: entry.id } }, body: { values } }));
        clearDraft(`edit.${entry.id}`);
        setEditing(null);
        setNotice("Saved your changes (your earlier answer is kept as a revision).");
        void queryClient.invalidateQueries({ queryKey: keys.myHistory(id) });
      } catch (error) {
        if (error instanceof ApiError && error.status === 400) {
          setEditing({ entry, saving: false, rejection: { assignment: editAssignment(entry), error, sent: values } });
        } else {
          setEditing((e) => e && { ...e, saving: false });
          setNotice(`Your changes were not saved: ${leaseErrorText(error)}`);
        }
      }
    },
    [queryClient, id],
  );

  if (!valid) return <NotFoundPage />;

  if (authLost) {
    return (
      <section className="page">
        <div className="alert alert-warn" role="alert">
          <span>Your session has ended. Your answers to this item are kept; sign in again to go on with it.</span>
          <a className="btn btn-primary" href={loginUrl(`/campaigns/${id}/label`)}>
            Sign in again
          </a>
        </div>
      </section>
    );
  }

  const problems = (
    <SaveProblems problems={queue.problems} onRetry={queue.retry} onDismiss={queue.dismiss} />
  );
  const tryAgain = (
    <button type="button" className="btn" onClick={() => void queue.refresh()} disabled={lease.isFetching}>
      Try again
    </button>
  );

  if (campaign.error) return <Problem error={campaign.error} notices={problems} />;
  if (lease.error && !current && !queue.syncing) {
    return (
      <Problem error={new Error(leaseErrorText(lease.error))} notices={problems}>
        {tryAgain}
      </Problem>
    );
  }
  if (!campaign.data || !lease.data || !rubric || !progress || (!current && queue.syncing)) {
    return (
      <section className="page">
        {problems}
        <p className="muted pad" role="status">
          Loading the next item…
        </p>
      </section>
    );
  }
  if (rubric instanceof Error) return <Problem error={rubric} notices={problems} />;
  if (careGateApplies(lease.data.care)) return <CareGate campaignId={id} campaignName={campaign.data.name} care={lease.data.care} />;

  const campaignOpen = campaign.data.status === "generating" || campaign.data.status === "labeling";
  const historyButton = (
    <button
      type="button"
      className="btn"
      aria-expanded={historyOpen}
      aria-controls="history-panel"
      onClick={() => setHistoryOpen((o) => !o)}
    >
      Recent items
    </button>
  );
  const history = historyOpen && (
    <div id="history-panel">
      <HistoryPanel
        campaignId={id}
        open={campaignOpen}
        onClose={() => setHistoryOpen(false)}
        onEdit={(entry) => {
          setHistoryOpen(false);
          setNotice(null);
          setEditing({ entry, rejection: null, saving: false });
        }}
        onUnskip={(entry) => {
          setHistoryOpen(false);
          void undoSkip(entry.id);
        }}
      />
    </div>
  );
  const noticeBar = notice && (
    <div className="alert alert-info" role="status">
      <span>{notice}</span>
      <button type="button" className="btn btn-link" onClick={() => setNotice(null)}>
        Dismiss
      </button>
    </div>
  );

  if (editing) {
    const entry = editing.entry;
    return (
      <>
        {history}
        <AnnotationTask
          key={`edit-${entry.id}`}
          mode="edit"
          campaign={campaign.data}
          rubric={rubric}
          assignment={editAssignment(entry)}
          startValues={(entry.values ?? {}) as Values}
          progress={progress}
          pending={editing.saving ? "submit" : null}
          rejection={editing.rejection}
          notices={noticeBar}
          headerExtra={historyButton}
          onSubmit={(values) => void saveEdit(entry, values)}
          onSkip={() => {}}
          onCancel={() => setEditing(null)}
        />
      </>
    );
  }

  if (!current) {
    const unsaved = queue.problems.length > 0;
    const waiting = generatingText(progress);
    return (
      <section className="page ws-empty">
        {problems}
        {noticeBar}
        <h1>{waiting ? "Outputs are being generated" : unsaved ? "Nothing more to label" : "All done"}</h1>
        {waiting ? (
          <p className="counts" role="status">
            {waiting}. Items appear here as they arrive; this page checks every few seconds.
          </p>
        ) : (
          <p className="counts">
            You labeled <strong>{progress.done}</strong> item{progress.done === 1 ? "" : "s"} in {campaign.data.name}.
          </p>
        )}
        {!waiting && (
          <p className="muted">
            {progress.available > 0
              ? `${progress.available} more may open up when others' holds on them expire.`
              : "Nothing is left for you in this campaign."}
          </p>
        )}
        <p className="campaign-actions" style={{ justifyContent: "center" }}>
          <Link className="btn btn-primary" to="/">
            Back to my campaigns
          </Link>
          <button type="button" className="btn" onClick={() => void queue.refresh()} disabled={lease.isFetching}>
            Check again
          </button>
          {historyButton}
        </p>
        {history}
      </section>
    );
  }

  const lastSkipped = queue.lastSkipped;
  const notices = (
    <>
      {problems}
      {noticeBar}
      {lastSkipped && lastSkipped.id !== current.id && (
        <div className="alert alert-info" role="status" data-testid="skipped-notice">
          <span>Skipped the last item.</span>
          <button type="button" className="btn" onClick={() => void undoSkip(lastSkipped.id)}>
            Undo skip
          </button>
        </div>
      )}
      {lease.error && !lease.isFetching && (
        <div className="alert alert-warn" role="status">
          <span>Could not check for the next item: {leaseErrorText(lease.error)}</span>
          {tryAgain}
        </div>
      )}
    </>
  );

  return (
    <>
      {history}
      <AnnotationTask
        key={current.id}
        campaign={campaign.data}
        rubric={rubric}
        assignment={current}
        progress={progress}
        pending={queue.pending}
        rejection={queue.rejection}
        notices={notices}
        headerExtra={historyButton}
        onSubmit={(values, startedAt) => queue.submit(current, values, startedAt)}
        onSkip={() => queue.skip(current)}
        onSkipWithReason={(reason) => queue.skip(current, reason || undefined)}
        onUndoFallback={lastSkipped ? () => void undoSkip(lastSkipped.id) : undefined}
        onShown={() => queue.shown(current.id)}
      />
    </>
  );
}

function Problem({ error, notices, children }: { error: unknown; notices?: React.ReactNode; children?: React.ReactNode }) {
  return (
    <section className="page">
      {notices}
      <ErrorMessage error={error}>{children}</ErrorMessage>
      <p>
        <Link to="/">Back to my campaigns</Link>
      </p>
    </section>
  );
}
