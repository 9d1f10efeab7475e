/** The annotator's unsaved input, per assignment, in localStorage: it survives a reload. */
import type { Values } from "../rubric/types";

const PREFIX = "assay.draft.";
const MAX_AGE_MS = 14 * 24 * 3600 * 1000;

interface Draft {
  values: Values;
  /** When the annotator first saw the item (ISO); the timer runs from here. */
  startedAt: string;
  savedAt: string;
}

export function draftKey(assignmentId: number | string): string {
  return `${PREFIX}${assignmentId}`;
}

export function loadDraft(assignmentId: number | string): Draft | null {
  try {
    const raw = localStorage.getItem(draftKey(assignmentId));
    if (!raw) return null;
    const draft = JSON.parse(raw) as Partial<Draft>;
    if (!draft || typeof draft !== "object" || typeof draft.values !== "object" || !draft.values) return null;
    return {
      values: draft.values,
      startedAt: typeof draft.startedAt === "string" ? draft.startedAt : new Date().toISOString(),
      savedAt: typeof draft.savedAt === "string" ? draft.savedAt : new Date().toISOString(),
    };
  } catch {
    return null;
  }
}

export function saveDraft(assignmentId: number | string, values: Values, startedAt: string): void {
  const draft: Draft = { values, startedAt, savedAt: new Date().toISOString() };
  try {
    localStorage.setItem(draftKey(assignmentId), JSON.stringify(draft));
  } catch {
    // Storage full or disabled: the input still lives in memory.
  }
}

export function clearDraft(assignmentId: number | string): void {
  try {
    localStorage.removeItem(draftKey(assignmentId));
  } catch {
    /* ignore */
  }
}

/** Forget drafts of long-gone leases. */
export function sweepDrafts(now = Date.now()): void {
  try {
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const key = localStorage.key(i);
      if (!key?.startsWith(PREFIX)) continue;
      const saved = Date.parse(JSON.parse(localStorage.getItem(key) ?? "{}").savedAt ?? "");
      if (!Number.isFinite(saved) || now - saved > MAX_AGE_MS) localStorage.removeItem(key);
    }
  } catch {
    /* ignore */
  }
}
