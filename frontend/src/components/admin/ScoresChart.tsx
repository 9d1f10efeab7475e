/**
 * Per metric, every model's point estimate with its 95% interval (a forest plot, drawn as SVG):
 * intervals that do not overlap mark models that differ. Rates in %, Likert means on their scale.
 */
import type { ModelScores } from "./adminQueries";
import { MODEL_COLORS, describeValue, formatPoint, metricValue, type Metric, type SplitKey } from "./scoreMetrics";

const W = 560;
const LABEL_W = 150;
const RIGHT = 20;
const ROW_H = 24;
const TOP = 6;
const AXIS_H = 24;

function ticksFor(metric: Metric): number[] {
  const [lo, hi] = metric.scale;
  if (metric.kind === "rate") return [0, 0.25, 0.5, 0.75, 1];
  const span = hi - lo;
  const step = span <= 10 ? 1 : Math.ceil(span / 5);
  const out = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
}

function shortName(name: string): string {
  return name.length > 22 ? `${name.slice(0, 21)}…` : name;
}

function MetricPlot({ metric, models, split }: { metric: Metric; models: ModelScores[]; split: SplitKey }) {
  const [lo, hi] = metric.scale;
  const plotW = W - LABEL_W - RIGHT;
  const clamp = (v: number) => Math.min(hi, Math.max(lo, v));
  const x = (v: number) => LABEL_W + ((clamp(v) - lo) / (hi - lo || 1)) * plotW;
  const height = TOP + models.length * ROW_H + AXIS_H;
  const axisY = TOP + models.length * ROW_H + 4;
  const titleId = `plot-${metric.key.replace(/[^a-z0-9_-]/gi, "-")}-${split}`;

  return (
    <figure className="adm-plot">
      <figcaption id={titleId} title={metric.method}>
        {metric.title}
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${height}`}
        width="100%"
        role="img"
        aria-labelledby={titleId}
        className="adm-plot-svg"
        preserveAspectRatio="xMinYMin meet"
      >
        {ticksFor(metric).map((t) => (
          <g key={t}>
            <line x1={x(t)} x2={x(t)} y1={TOP} y2={axisY} className="adm-plot-grid" />
            <text x={x(t)} y={axisY + 14} textAnchor="middle" className="adm-plot-tick">
              {metric.kind === "rate" ? `${Math.round(t * 100)}%` : t}
            </text>
          </g>
        ))}
        {models.map((model, i) => {
          const v = metricValue(model, split, metric);
          const y = TOP + i * ROW_H + ROW_H / 2;
          const color = MODEL_COLORS[i % MODEL_COLORS.length];
          const summary = `${model.model}: ${describeValue(metric, v)}`;
          return (
            <g key={model.model_id} data-testid={`interval-${metric.key}-${model.model_id}`}>
              <title>{summary}</title>
              <text x={LABEL_W - 8} y={y + 4} textAnchor="end" className="adm-plot-label">
                {shortName(model.model)}
              </text>
              {v && v.point !== null ? (
                <>
                  {v.low !== null && v.high !== null && (
                    <>
                      <line
                        x1={x(v.low)}
                        x2={x(v.high)}
                        y1={y}
                        y2={y}
                        stroke={color}
                        strokeWidth={2.5}
                        data-low={v.low}
                        data-high={v.high}
                        className="adm-plot-ci"
                      />
                      <line x1={x(v.low)} x2={x(v.low)} y1={y - 5} y2={y + 5} stroke={color} strokeWidth={2} />
                      <line x1={x(v.high)} x2={x(v.high)} y1={y - 5} y2={y + 5} stroke={color} strokeWidth={2} />
                    </>
                  )}
                  <circle cx={x(v.point)} cy={y} r={4.5} fill={color} className="adm-plot-point" />
                  <text x={Math.min(x(v.point) + 8, W - 2)} y={y - 6} className="adm-plot-value" textAnchor={x(v.point) > W - 60 ? "end" : "start"}>
                    {formatPoint(metric, v.point)}
                  </text>
                </>
              ) : (
                <text x={LABEL_W + 4} y={y + 4} className="adm-plot-empty">
                  no labels yet
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

export function ScoresChart({ metrics, models, split }: { metrics: Metric[]; models: ModelScores[]; split: SplitKey }) {
  if (!models.length || !metrics.length) return <p className="muted">No scores yet.</p>;
  return (
    <div className="adm-plots">
      {metrics.map((m) => (
        <MetricPlot key={m.key} metric={m} models={models} split={split} />
      ))}
    </div>
  );
}
