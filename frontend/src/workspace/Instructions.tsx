import { useState } from "react";
import { Markdown } from "../components/Markdown";

/** The campaign's instructions, collapsible; the choice is remembered per campaign. */
export function Instructions({ campaignId, markdown }: { campaignId: number; markdown: string }) {
  const storageKey = `assay.instructions-collapsed.${campaignId}`;
  const [open, setOpen] = useState(() => {
    try {
      return localStorage.getItem(storageKey) !== "1";
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
