/**
 * What the workspace shows instead of the item while the server's care state asks for it:
 * the content warning, the day's limit reached, or a break reminder. Null when none applies.
 */
import type { CareStatus } from "./careQueries";
import { ContentWarning } from "./ContentWarning";
import { BreakReminder, LimitReached } from "./BreakScreen";

interface Props {
  campaignId: number;
  campaignName: string;
  care: CareStatus | null | undefined;
}

export function careGateApplies(care: CareStatus | null | undefined): care is CareStatus {
  return !!care && care.state !== "ok";
}

export function CareGate({ campaignId, campaignName, care }: Props) {
  if (!careGateApplies(care)) return null;
  if (care.state === "warning") return <ContentWarning campaignId={campaignId} campaignName={campaignName} />;
  if (care.state === "limit_reached") return <LimitReached care={care} campaignName={campaignName} />;
  return <BreakReminder campaignId={campaignId} care={care} />;
}
