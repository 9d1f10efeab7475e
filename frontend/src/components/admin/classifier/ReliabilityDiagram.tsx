/** Reliability diagram: per confidence bin, how often the top class was right (bars) against
 * the diagonal of perfect calibration. Plain SVG, drawn from the run's metrics. */
import type { ReliabilityBin } from "./classifierQueries";

const W = 260;
const H = 220;
const PAD = 32;
const SIZE = W - PAD - 8;

function x(v: number) {
  return PAD + v * SIZE;
}
function y(v: number) {
  return H - PAD - v * (H - PAD - 8);
}

export function ReliabilityDiagram({ bins, ece, title }: { bins: ReliabilityBin[]; ece: number; title: string }) {
  const label = `${title}: expected calibration error ${ece.toFixed(3)}`;
  return (
    <figure className="clf-figure">
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={label}>
        <title>{label}</title>
        <line x1={x(0)} y1={y(0)} x2={x(1)} y2={y(0)} className="clf-axis" />
        <line x1={x(0)} y1={y(0)} x2={x(0)} y2={y(1)} className="clf-axis" />
        <line x1={x(0)} y1={y(0)} x2={x(1)} y2={y(1)} className="clf-diagonal" strokeDasharray="4 3" />
        {bins.map((b) => (
          <g key={b.lower} data-testid="reliability-bin">
            <rect
              x={x(b.lower) + 1}
              y={y(b.accuracy)}
              width={Math.max(x(b.upper) - x(b.lower) - 2, 1)}
              height={y(0) - y(b.accuracy)}
              className="clf-bar"
            >
              <title>{`confidence ${b.lower.toFixed(1)}–${b.upper.toFixed(1)}: accuracy ${b.accuracy.toFixed(2)}, mean confidence ${b.confidence.toFixed(2)}, ${b.count} items`}</title>
            </rect>
            <circle cx={x(b.confidence)} cy={y(b.confidence)} r={2.5} className="clf-dot" />
          </g>
        ))}
        {[0, 0.5, 1].map((t) => (
          <g key={t}>
            <text x={x(t)} y={H - PAD + 14} textAnchor="middle" className="clf-tick">
              {t}
            </text>
            <text x={PAD - 6} y={y(t) + 4} textAnchor="end" className="clf-tick">
              {t}
            </text>
          </g>
        ))}
        <text x={x(0.5)} y={H - 4} textAnchor="middle" className="clf-tick">
          confidence
        </text>
      </svg>
      <figcaption className="muted">
        Accuracy per confidence bin; ECE {ece.toFixed(3)}
      </figcaption>
    </figure>
  );
}
