import { useEffect, useMemo } from "react";
import { Link, useParams } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { ApiError } from "../api/client";
import { campaignQuery, leaseQuery } from "../api/queries";
import { ErrorMessage } from "../components/ErrorMessage";
import { parseRubric, type Rubric } from "../rubric/types";
import { AnnotationTask, type Progress } from "../workspace/AnnotationTask";
import { sweepDrafts } from "../workspace/draft";
import NotFoundPage from "./NotFoundPage";

function leaseErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "campaign_not_open") return `This campaign is not open for labeling: ${error.message}.`;
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
  const lease = useQuery({ ...leaseQuery(id), enabled: valid });

  useEffect(() => sweepDrafts(), []);

  const rubric = useMemo((): Rubric | Error | null => {
    if (!campaign.data) return null;
    try {
      return parseRubric(campaign.data.rubric);
    } catch (err) {
      return err as Error;
    }
  }, [campaign.data]);

  if (!valid) return <NotFoundPage />;
  if (campaign.error) return <Problem error={campaign.error} />;
  if (lease.error && !lease.data) {
    return (
      <Problem error={new Error(leaseErrorText(lease.error))}>
        <button type="button" className="btn" onClick={() => void lease.refetch()}>
          Try again
        </button>
      </Problem>
    );
  }
  if (!campaign.data || !lease.data || !rubric) {
    return <p className="muted pad" role="status">Loading the next item…</p>;
  }
  if (rubric instanceof Error) return <Problem error={rubric} />;

  const progress: Progress = { done: lease.data.progress.done ?? 0, available: lease.data.progress.available ?? 0 };
  const assignment = lease.data.assignment;
  if (!assignment) {
    return (
      <section className="page ws-empty">
        <h1>All done</h1>
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
          <button type="button" className="btn" onClick={() => void lease.refetch()} disabled={lease.isFetching}>
            Check again
          </button>
        </p>
      </section>
    );
  }
  return <AnnotationTask key={assignment.id} campaign={campaign.data} rubric={rubric} assignment={assignment} progress={progress} />;
}

function Problem({ error, children }: { error: unknown; children?: React.ReactNode }) {
  return (
    <section className="page">
      <ErrorMessage error={error}>{children}</ErrorMessage>
      <p>
        <Link to="/">Back to my campaigns</Link>
      </p>
    </section>
  );
}
