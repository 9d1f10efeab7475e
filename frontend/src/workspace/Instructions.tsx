import { useState } from "react";
import { Markdown } from "../components/Markdown";

/**
 * The campaign's instructions, collapsible: open on the first visit to a campaign, collapsed
 * after that (they take room the questions need); an explicit choice is remembered per campaign.
 */
export function Instructions({ campaignId, markdown }: { campaignId: number; markdown: string }) {
  const storageKey = `assay.instructions-collapsed.${campaignId}`;
  const seenKey = `assay.instructions-seen.${campaignId}`;
  const [open, setOpen] = useState(() => {
    try {
      const choice = localStorage.getItem(storageKey);
      if (choice !== null) return choice !== "1";
      const firstVisit = localStorage.getItem(seenKey) === null;
      localStorage.setItem(seenKey, "1");
      return firstVisit;
    } catch {
      return true;
    }
  });
  if (!markdown.trim()) return null;
  return (
    <details
      className="instructions"
      open={open}
      onToggle={(e) => {
        const isOpen = (e.currentTarget as HTMLDetailsElement).open;
        // Chromium fires "toggle" for a details element rendered open: not the annotator's choice.
        if (isOpen === open) return;
        setOpen(isOpen);
        try {
          localStorage.setItem(storageKey, isOpen ? "0" : "1");
        } catch {
          /* ignore */
        }
      }}
    >
      <summary>Instructions</summary>
      <Markdown source={markdown} className="instructions-body" />
    </details>
  );
}
