import { forwardRef, useMemo, type CSSProperties, type ReactNode } from "react";
import type { Highlight } from "../rubric/kind";
import { toUtf16 } from "../rubric/offsets";

interface Segment {
  from: number;
  to: number;
  covering: Highlight[];
}

function segments(text: string, highlights: Highlight[]): Segment[] {
  const spans = highlights
    .map((h) => ({ h, from: toUtf16(text, h.start), to: toUtf16(text, h.end) }))
    .filter((s) => s.from < s.to);
  const cuts = new Set<number>([0, text.length]);
  for (const s of spans) cuts.add(s.from).add(s.to);
  const points = [...cuts].filter((p) => p >= 0 && p <= text.length).sort((a, b) => a - b);
  const out: Segment[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i]!;
    const to = points[i + 1]!;
    out.push({ from, to, covering: spans.filter((s) => s.from <= from && s.to >= to).map((s) => s.h) });
  }
  return out;
}

/**
 * Untrusted model text, rendered as text nodes only (marks for highlights hold text nodes too),
 * so that selection offsets can be computed over exactly this text.
 */
export const OutputText = forwardRef<HTMLDivElement, { text: string; highlights: Highlight[]; label: string }>(
  function OutputText({ text, highlights, label }, ref) {
    const parts = useMemo(() => segments(text, highlights), [text, highlights]);
    const nodes: ReactNode[] = parts.map((seg) => {
      const chunk = text.slice(seg.from, seg.to);
      if (seg.covering.length === 0) return chunk;
      const first = seg.covering[0]!.color % 8;
      const second = (seg.covering[1] ?? seg.covering[0]!).color % 8;
      const style = {
        "--hl-bg": `var(--span-${first})`,
        "--hl-edge": `var(--span-${first}-edge)`,
        "--hl-edge2": `var(--span-${second}-edge)`,
      } as CSSProperties;
      return (
        <mark
          key={seg.from}
          className="hl"
          style={style}
          title={seg.covering.map((h) => h.title).join(", ")}
          data-overlap={seg.covering.length > 1 ? seg.covering.length : undefined}
        >
          {chunk}
        </mark>
      );
    });
    return (
      <div ref={ref} className="untrusted output-text" aria-label={label} role="document" data-testid="output-text">
        {nodes}
      </div>
    );
  },
);
