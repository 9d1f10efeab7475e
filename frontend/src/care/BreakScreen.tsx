/**
 * The day's exposure limit reached (the server leases nothing more today), or a break reminder
 * (items are leased; the annotator takes the break, or carries on, before seeing the next one).
 */
import { Link } from "react-router-dom";
import { ErrorMessage } from "../components/ErrorMessage";
import { useTakeBreak, type CareStatus } from "./careQueries";
import "./care.css";

function minutes(value: number): string {
  const m = Math.round(value);
  return `${m} minute${m === 1 ? "" : "s"}`;
}

export function LimitReached({ care, campaignName }: { care: CareStatus; campaignName: string }) {
  const what =
    care.limit === "minutes"
      ? `${minutes(care.minutes_today)} of labeling, this campaign's limit of ${minutes(care.daily_minute_limit)} a day`
      : `${care.items_today} items, this campaign's limit of ${care.daily_item_limit} a day`;
  return (
    <section className="page care-screen" aria-labelledby="care-limit-title">
      <h1 id="care-limit-title">That is enough for today</h1>
      <p>
        You have reached today's limit in {campaignName}: {what}.
      </p>
      <p className="muted">Step away from the screen for a while. You can label more here tomorrow.</p>
      <p className="campaign-actions">
        <Link className="btn btn-primary" to="/">
          Back to my campaigns
        </Link>
      </p>
    </section>
  );
}

export function BreakReminder({ campaignId, care }: { campaignId: number; care: CareStatus }) {
  const takeBreak = useTakeBreak(campaignId);
  return (
    <section className="page care-screen" aria-labelledby="care-break-title">
      <h1 id="care-break-title">Time for a break</h1>
      <p>
        You have labeled for {minutes(care.minutes_since_break)} since your last break. Reading harmful text wears on
        anyone: stand up, look away from the screen, get some water.
      </p>
      {takeBreak.error && <ErrorMessage error={takeBreak.error} />}
      <p className="campaign-actions">
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => takeBreak.mutate()}
          disabled={takeBreak.isPending}
        >
          I took a break, continue
        </button>
        <Link className="btn" to="/">
          Stop for now
        </Link>
      </p>
    </section>
  );
}
