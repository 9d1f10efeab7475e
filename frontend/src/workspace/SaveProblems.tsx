import { ApiError } from "../api/client";
import { errorText } from "../components/ErrorMessage";
import { isFinal, type Outgoing } from "./queue";

/** A short, recognisable name for an item: the start of its prompt. */
function itemName(entry: Outgoing): string {
  const prompt = entry.assignment.item.prompt.replace(/\s+/g, " ").trim();
  const cut = [...prompt];
  return `“${cut.length > 60 ? `${cut.slice(0, 57).join("")}…` : prompt}”`;
}

function explanation(entry: Outgoing): string {
  const error = entry.error;
  if (error instanceof ApiError) {
    switch (error.code) {
      case "lease_lost":
        return "your hold on it ran out and someone else has taken the item since, so this answer can no longer be saved. Nothing else is affected.";
      case "already_submitted":
        return "it was already submitted (from another tab or device?) with other answers; those are kept.";
      case "skipped":
        return "it was skipped (from another tab or device?).";
    }
    if (error.status === 404) return "the item is no longer yours to label.";
    if (error.status === 0 || error.status >= 500) {
      return `${error.message} ${entry.kind === "submit" ? "Your answers are kept on this device." : ""}`.trim();
    }
  }
  return errorText(error);
}

/**
 * Answers to earlier items that did not reach the server: never dropped silently. Each stays
 * here (and its draft in localStorage) until it is sent, or until the annotator dismisses a
 * failure no retry can fix.
 */
export function SaveProblems({
  problems,
  onRetry,
  onDismiss,
}: {
  problems: Outgoing[];
  onRetry(id: number): void;
  onDismiss(id: number): void;
}) {
  if (problems.length === 0) return null;
  return (
    <div className="save-problems">
      {problems.map((entry) => {
        const id = entry.assignment.id;
        const final = isFinal(entry.error);
        const retrying = entry.state === "sending";
        const what =
          entry.kind === "submit"
            ? `Your answer to the previous item ${itemName(entry)} was not saved`
            : `Skipping the previous item ${itemName(entry)} did not go through`;
        return (
          <div key={id} className="alert alert-error" role="alert" data-testid="save-problem">
            <span>
              {what}: {explanation(entry)}
            </span>
            {final ? (
              <button type="button" className="btn" onClick={() => onDismiss(id)}>
                Dismiss
              </button>
            ) : (
              <button type="button" className="btn" onClick={() => onRetry(id)} disabled={retrying}>
                {retrying ? "Retrying…" : "Retry"}
              </button>
            )}
          </div>
        );
      })}
    </div>
  );
}
