/**
 * The cleaning decision, as cleaning/policy.py makes it, for the live preview: a document is
 * removed when any document classifier's P(positive) reaches its threshold; otherwise the
 * tagger's spans at or above its threshold are masked.
 */
export interface Span {
  start: number;
  end: number;
  label: string;
  score: number;
  masked?: boolean;
}

export interface SampleDoc {
  id: string;
  text: string;
  scores: Record<string, number>;
  spans: Span[];
}

export type Decision = "remove" | "mask" | "keep";

export function decide(doc: SampleDoc, thresholds: Record<string, number>, spanThreshold: number | null): Decision {
  for (const [name, p] of Object.entries(doc.scores)) {
    const t = thresholds[name];
    if (t !== undefined && p >= t) return "remove";
  }
  if (spanThreshold !== null && doc.spans.some((s) => s.score >= spanThreshold)) return "mask";
  return "keep";
}

export function tally(docs: SampleDoc[], thresholds: Record<string, number>, spanThreshold: number | null) {
  const counts: Record<Decision, number> = { remove: 0, mask: 0, keep: 0 };
  for (const d of docs) counts[decide(d, thresholds, spanThreshold)] += 1;
  return counts;
}

/** The text cut into plain and highlighted pieces (code-point offsets, as the server's). */
export function segments(text: string, spans: Span[]): { text: string; span: Span | null }[] {
  const chars = Array.from(text);
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: { text: string; span: Span | null }[] = [];
  let pos = 0;
  for (const s of sorted) {
    const start = Math.max(s.start, pos);
    const end = Math.min(s.end, chars.length);
    if (end <= start) continue;
    if (start > pos) out.push({ text: chars.slice(pos, start).join(""), span: null });
    out.push({ text: chars.slice(start, end).join(""), span: s });
    pos = end;
  }
  if (pos < chars.length) out.push({ text: chars.slice(pos).join(""), span: null });
  return out;
}
