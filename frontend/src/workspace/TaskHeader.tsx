import { useState, type ReactNode } from "react";
import type { CampaignDetail, Progress } from "../api/queries";
import { ProgressBar } from "../components/ProgressBar";
import { formatDuration, useNow } from "./useNow";

interface Props {
  campaign: CampaignDetail;
  progress: Progress;
  startedAt: string;
  busy: boolean;
  onHelp(): void;
  /** Absent while editing a submitted item. */
  onSkip?(): void;
  onSkipWithReason?(reason: string): void;
  extra?: ReactNode;
}

/** The campaign's name, the annotator's progress and time on the item, and the key list and skip buttons. */
export function TaskHeader({ campaign, progress, startedAt, busy, onHelp, onSkip, onSkipWithReason, extra }: Props) {
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
        {extra}
        <button type="button" className="btn" onClick={onHelp} aria-keyshortcuts="?">
          Keys <kbd>?</kbd>
        </button>
        {onSkip && (
          <button type="button" className="btn" onClick={onSkip} disabled={busy} aria-keyshortcuts="s">
            Skip <kbd>s</kbd>
          </button>
        )}
        {onSkipWithReason && <SkipWithReason busy={busy} onSkip={onSkipWithReason} />}
      </div>
    </div>
  );
}

/** Skip, saying why (optional): a small form behind a button. */
function SkipWithReason({ busy, onSkip }: { busy: boolean; onSkip(reason: string): void }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  if (!open) {
    return (
      <button type="button" className="btn btn-link" onClick={() => setOpen(true)} disabled={busy}>
        Skip with reason…
      </button>
    );
  }
  return (
    <form
      className="skip-reason"
      onSubmit={(e) => {
        e.preventDefault();
        onSkip(reason.trim());
      }}
    >
      <label>
        <span className="sr-only">Why skip this item?</span>
        <input
          type="text"
          value={reason}
          maxLength={500}
          placeholder="Why skip? (optional)"
          onChange={(e) => setReason(e.target.value)}
          autoFocus
          list="skip-reasons"
        />
      </label>
      <datalist id="skip-reasons">
        <option value="Not in a language I read" />
        <option value="Output is empty or broken" />
        <option value="Too distressing to read now" />
        <option value="I am not sure how to judge it" />
      </datalist>
      <button type="submit" className="btn" disabled={busy}>
        Skip
      </button>
      <button type="button" className="btn btn-link" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
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
