/**
 * A model output the campaign marks sensitive, blurred until the annotator reveals it (a click,
 * or the V key); a new item starts blurred again (the workspace keys this by assignment). The
 * blurred text is inert: not selectable, not read out, not focusable. The annotator can turn
 * blurring off (and on again) for themselves; the choice is stored on the server.
 */
import { useEffect, useState, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import type { CampaignDetail } from "../api/queries";
import { HazardOptOuts } from "./HazardOptOuts";
import { blurPreferenceQuery, myCareQuery, useSetBlurPreference } from "./careQueries";
import "./care.css";

export const REVEAL_KEY = "v";

const NOT_TEXT = new Set(["radio", "checkbox", "button", "submit", "reset", "range", "color"]);

/** Typing text (a letter then belongs to the text box); radios and checkboxes are not. */
function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  if (el instanceof HTMLInputElement) return !NOT_TEXT.has(el.type);
  return el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT";
}

interface Props {
  campaign: CampaignDetail;
  sensitive: boolean;
  children: ReactNode;
}

export function BlurGate({ campaign, sensitive, children }: Props) {
  const pref = useQuery(blurPreferenceQuery);
  const setPref = useSetBlurPreference();
  const [revealed, setRevealed] = useState(false);
  // The annotator's choice shows in the same render as their click (the query cache notifies a
  // task later, and a controlled checkbox would snap back until then); dropped if the server refuses.
  const [chosen, setChosen] = useState<boolean | undefined>(undefined);
  // Until the preference is known, err on the side of blurring.
  const blurOn = chosen ?? pref.data?.blur_outputs ?? true;
  const setBlur = (on: boolean) => {
    setChosen(on);
    setPref.mutate(on, { onError: () => setChosen(undefined) });
  };
  const blurred = sensitive && blurOn && !revealed;

  useEffect(() => {
    if (!blurred) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key.toLowerCase() !== REVEAL_KEY || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      // Only while blurred: the key then does nothing else in the workspace.
      e.preventDefault();
      e.stopImmediatePropagation();
      setRevealed(true);
    };
    window.addEventListener("keydown", onKey, { capture: true });
    return () => window.removeEventListener("keydown", onKey, { capture: true });
  }, [blurred]);

  return (
    <div className={`care-blur${blurred ? " care-blurred" : ""}`} data-testid="care-blur" data-blurred={blurred}>
      <div className="care-blur-content" inert={blurred} aria-hidden={blurred || undefined}>
        {children}
      </div>
      {blurred && (
        <div className="care-blur-cover">
          <p>This output may be harmful.</p>
          <button type="button" className="btn btn-primary" onClick={() => setRevealed(true)} aria-keyshortcuts="V">
            Reveal output <kbd>V</kbd>
          </button>
        </div>
      )}
      <CareMenu campaign={campaign} blurOn={blurOn} setBlur={setBlur} pending={setPref.isPending} />
    </div>
  );
}

/** The annotator's own choices, under the output: blur on or off, and categories to skip. */
function CareMenu({
  campaign,
  blurOn,
  setBlur,
  pending,
}: {
  campaign: CampaignDetail;
  blurOn: boolean;
  setBlur(on: boolean): void;
  pending: boolean;
}) {
  const categories = campaign.hazard_categories ?? [];
  const [open, setOpen] = useState(false);
  const mine = useQuery({ ...myCareQuery(campaign.id), enabled: open && categories.length > 0 });
  const blurMode = campaign.blur_outputs ?? "off";
  if (blurMode === "off" && categories.length === 0) return null;
  return (
    <details className="care-menu" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>Content settings</summary>
      {blurMode !== "off" && (
        <label className="care-optout">
          <input type="checkbox" checked={blurOn} aria-busy={pending} onChange={(e) => setBlur(e.target.checked)} /> Blur
          outputs that may be harmful until I reveal them
        </label>
      )}
      {mine.data && (
        <HazardOptOuts campaignId={campaign.id} categories={categories} optOuts={mine.data.hazard_opt_outs} live />
      )}
    </details>
  );
}
