/** One estimate with its 95% interval on a fixed scale, as a small inline SVG. */
import { formatInterval, formatScore } from "./format";

const WIDTH = 160;
const HEIGHT = 14;

export function IntervalBar({
  kind,
  value,
  low,
  high,
  scale,
  label,
}: {
  kind: string;
  value: number | null | undefined;
  low: number | null | undefined;
  high: number | null | undefined;
  scale: [number, number];
  label: string;
}) {
  if (value === null || value === undefined || low === null || low === undefined || high === null || high === undefined) {
    return <span className="muted">—</span>;
  }
  const [lo, hi] = scale;
  const x = (v: number) => ((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo || 1)) * WIDTH;
  const text = `${label}: ${formatScore(kind, value)} ${formatInterval(kind, low, high)}`;
  return (
    <svg width={WIDTH} height={HEIGHT} role="img" aria-label={text} className="interval-bar">
      <title>{text}</title>
      <line x1={0} x2={WIDTH} y1={HEIGHT / 2} y2={HEIGHT / 2} className="interval-axis" stroke="#ddd" />
      <line
        x1={x(low)}
        x2={x(high)}
        y1={HEIGHT / 2}
        y2={HEIGHT / 2}
        stroke="#2352c8"
        strokeWidth={4}
        data-low={low}
        data-high={high}
        className="interval-ci"
      />
      <circle cx={x(value)} cy={HEIGHT / 2} r={4} fill="#122a66" />
    </svg>
  );
}
