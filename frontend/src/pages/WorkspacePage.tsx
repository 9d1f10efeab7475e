import { useEffect, useMemo } from "react";
import { Link, useParams } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { ApiError } from "../api/client";
import { campaignQuery } from "../api/queries";
import { CareGate, careGateApplies } from "../care/CareGate";
import { ErrorMessage } from "../components/ErrorMessage";
import { parseRubric, type Rubric } from "../rubric/types";
import { AnnotationTask } from "../workspace/AnnotationTask";
import { sweepDrafts } from "../workspace/draft";
import { useLeaseQueue } from "../workspace/queue";
import { SaveProblems } from "../workspace/SaveProblems";
import NotFoundPage from "./NotFoundPage";

function leaseErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "campaign_not_open") return `This campaign is not open for labeling: ${error.message}.`;
    // Paused for low gold accuracy: the server says why; an admin can resume.
    if (error.code === "paused") return `${error.message}. Ask the campaign's admins to resume you.`;
    if (error.status === 403) return "You are not an annotator of this campaign.";
    if (error.status === 404) return "There is no such campaign.";
    return error.message;
  }
  return "Could not get an item to label.";
}

export default function WorkspacePage() {
  const id = Number(useParams().id);
  const valid = Number.isInteger(id) && id > 0;
  const campaign = useQuery({ ...campaignQuery(id), enabled: valid });
  const queue = useLeaseQueue(id, valid);
  const { lease, current, progress } = queue;

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
  const { nothingShown } = queue;
  useEffect(() => {
    if (emptyQueue) nothingShown();
  }, [emptyQueue, nothingShown]);

  if (!valid) return <NotFoundPage />;

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

  if (!current) {
    const unsaved = queue.problems.length > 0;
    return (
      <section className="page ws-empty">
        {problems}
        <h1>{unsaved ? "Nothing more to label" : "All done"}</h1>
        <p className="counts">
          You labeled <strong>{progress.done}</strong> item{progress.done === 1 ? "" : "s"} in {campaign.data.name}.
        </p>
        <p className="muted">
          {progress.available > 0
            ? `${progress.available} more may open up when others' holds on them expire.`
            : "Nothing is left for you in this campaign."}
        </p>
        <p className="campaign-actions" style={{ justifyContent: "center" }}>
          <Link className="btn btn-primary" to="/">
            Back to my campaigns
          </Link>
          <button type="button" className="btn" onClick={() => void queue.refresh()} disabled={lease.isFetching}>
            Check again
          </button>
        </p>
      </section>
    );
  }

  const notices = (
    <>
      {problems}
      {lease.error && !lease.isFetching && (
        <div className="alert alert-warn" role="status">
          <span>Could not check for the next item: {leaseErrorText(lease.error)}</span>
          {tryAgain}
        </div>
      )}
    </>
  );

  return (
    <AnnotationTask
      key={current.id}
      campaign={campaign.data}
      rubric={rubric}
      assignment={current}
      progress={progress}
      pending={queue.pending}
      rejection={queue.rejection}
      notices={notices}
      onSubmit={(values, startedAt) => queue.submit(current, values, startedAt)}
      onSkip={() => queue.skip(current)}
      onShown={() => queue.shown(current.id)}
    />
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
