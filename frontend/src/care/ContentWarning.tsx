/**
 * The campaign's content warning, shown before an annotator's first item (the server leases
 * nothing until it is acknowledged). Admin-written Markdown, through the sanitizing component.
 */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { ErrorMessage } from "../components/ErrorMessage";
import { Markdown } from "../components/Markdown";
import { HazardOptOuts } from "./HazardOptOuts";
import { myCareQuery, useAcknowledgeWarning, useSetOptOuts } from "./careQueries";
import "./care.css";

export function ContentWarning({ campaignId, campaignName }: { campaignId: number; campaignName: string }) {
  const mine = useQuery(myCareQuery(campaignId));
  const acknowledge = useAcknowledgeWarning(campaignId);
  const saveOptOuts = useSetOptOuts(campaignId);
  const [optOuts, setOptOuts] = useState<string[] | null>(null);

  if (mine.isPending) return <p className="muted pad">Loading…</p>;
  if (mine.error) return <ErrorMessage error={mine.error} />;
  const care = mine.data;

  const proceed = async () => {
    if (optOuts !== null) await saveOptOuts.mutateAsync(optOuts);
    acknowledge.mutate();
  };
  const busy = acknowledge.isPending || saveOptOuts.isPending;

  return (
    <section className="page care-screen" aria-labelledby="care-warning-title">
      <h1 id="care-warning-title">Content warning</h1>
      <p className="muted">Before you start labeling {campaignName}:</p>
      <Markdown source={care.content_warning} className="care-warning-body" />
      <HazardOptOuts
        campaignId={campaignId}
        categories={care.hazard_categories}
        optOuts={care.hazard_opt_outs}
        onChange={setOptOuts}
      />
      <p className="hint">You can stop at any time; take breaks whenever you need them.</p>
      {(acknowledge.error || saveOptOuts.error) && <ErrorMessage error={acknowledge.error ?? saveOptOuts.error} />}
      <p className="campaign-actions">
        <button type="button" className="btn btn-primary" onClick={() => void proceed()} disabled={busy}>
          I understand, continue
        </button>
        <Link className="btn" to="/">
          Not now
        </Link>
      </p>
    </section>
  );
}
