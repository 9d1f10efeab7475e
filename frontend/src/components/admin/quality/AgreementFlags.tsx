/** On the dashboard: the dimensions whose agreement is under Krippendorff's 0.667, with a link. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { ALPHA_FLAG, fixed, qualityQuery } from "./qualityQueries";

export function AgreementFlags({ campaignId }: { campaignId: number }) {
  const quality = useQuery(qualityQuery(campaignId));
  const flagged = quality.data?.dimensions.filter((d) => d.flagged) ?? [];
  const paused = quality.data?.annotators.filter((a) => a.paused_at) ?? [];
  if (flagged.length === 0 && paused.length === 0) return null;
  return (
    <div className="alert alert-warn" role="status">
      {flagged.length > 0 && (
        <span>
          Low agreement (α under {ALPHA_FLAG}):{" "}
          {flagged.map((d) => `${d.name} ${fixed(d.alpha, 2)}`).join(", ")}.{" "}
        </span>
      )}
      {paused.length > 0 && (
        <span>
          Paused for gold accuracy: {paused.map((a) => a.username).join(", ")}.{" "}
        </span>
      )}
      <Link to={`/campaigns/${campaignId}/quality`}>See quality</Link>
    </div>
  );
}
