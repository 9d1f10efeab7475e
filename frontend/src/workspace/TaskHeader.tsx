import type { CampaignDetail, Progress } from "../api/queries";
import { ProgressBar } from "../components/ProgressBar";
import { formatDuration, useNow } from "./useNow";

interface Props {
  campaign: CampaignDetail;
  progress: Progress;
  startedAt: string;
  busy: boolean;
  onHelp(): void;
  onSkip(): void;
}

/** The campaign's name, the annotator's progress and time on the item, and the key list and skip buttons. */
export function TaskHeader({ campaign, progress, startedAt, busy, onHelp, onSkip }: Props) {
  const total = progress.done + progress.available;
  return (
    <div className="ws-head">
      <h1 className="ws-title">{campaign.name}</h1>
      <div className="ws-stats">
        <ProgressBar value={progress.done} max={total} label="Your progress" />
        <span>
          <strong>{progress.done}</strong> done ·{" "}
          <strong>
            {progress.available}
            {progress.available_capped ? "+" : ""}
          </strong>{" "}
          left
        </span>
        <ItemTimer startedAt={startedAt} />
      </div>
      <div className="ws-head-actions">
        <button type="button" className="btn" onClick={onHelp} aria-keyshortcuts="?">
          Keys <kbd>?</kbd>
        </button>
        <button type="button" className="btn" onClick={onSkip} disabled={busy} aria-keyshortcuts="s">
          Skip <kbd>s</kbd>
        </button>
      </div>
    </div>
  );
}

/** Ticks on its own, so the rest of the workspace does not re-render every second. */
function ItemTimer({ startedAt }: { startedAt: string }) {
  const now = useNow(1000);
  return (
    <span title="Time on this item">
      Time{" "}
      <span role="timer" aria-label="Time on this item">
        {formatDuration(now - Date.parse(startedAt))}
      </span>
    </span>
  );
}

export function LeaseWarning({ expiresAt }: { expiresAt: string }) {
  const expiresIn = Date.parse(expiresAt) - useNow(1000);
  if (!(expiresIn < 5 * 60_000)) return null;
  return (
    <div className="alert alert-warn" role="status">
      {expiresIn > 0
        ? `Your hold on this item ends in ${formatDuration(expiresIn)}; submit soon or others may take it.`
        : "Your hold on this item has ended. Submitting may still work if no one else took it."}
    </div>
  );
}
