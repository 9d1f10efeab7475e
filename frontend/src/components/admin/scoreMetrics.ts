/** Turns a scores payload into rows to show: one metric per rate or mean, with its interval. */
import type { DimensionScore, ModelScores } from "./adminQueries";
import type { Rubric } from "./rubricDraft";

export type SplitKey = "all" | "public" | "private";

export interface Metric {
  /** "harm" for a dimension's headline, "hazard=weapons" for one option */
  key: string;
  dimension: string;
  /** The dimension's question, e.g. "Hazard category" */
  dimensionLabel: string;
  option?: string;
  title: string;
  kind: "rate" | "mean";
  /** The dimension's headline number (positive rate, span rate, likert mean), not an option. */
  headline: boolean;
  /** Rates run 0..1; a likert mean runs over its scale. */
  scale: [number, number];
  method: string;
}

interface MetricValue {
  point: number | null;
  low: number | null;
  high: number | null;
  n: number;
  k?: number;
  nPrompts?: number;
}

function dimensionOrder(models: ModelScores[], split: SplitKey, rubric?: Rubric): string[] {
  const seen = new Set<string>();
  for (const m of models) for (const name of Object.keys(m[split].dimensions)) seen.add(name);
  const ordered = (rubric?.dimensions ?? []).map((d) => d.name).filter((n) => seen.has(n));
  return [...ordered, ...[...seen].filter((n) => !ordered.includes(n))];
}

function firstScore(models: ModelScores[], split: SplitKey, name: string): DimensionScore | undefined {
  return models.map((m) => m[split].dimensions[name]).find(Boolean);
}

/** Every metric the payload holds for a split, in rubric order. */
export function buildMetrics(models: ModelScores[], split: SplitKey, rubric?: Rubric): Metric[] {
  const out: Metric[] = [];
  for (const name of dimensionOrder(models, split, rubric)) {
    const score = firstScore(models, split, name);
    if (!score) continue;
    const dim = rubric?.dimensions.find((d) => d.name === name);
    const label = dim?.label || name;
    const optionLabel = (v: string) => dim?.options?.find((o) => o.value === v)?.label || v;
    const base = { dimension: name, dimensionLabel: label, method: score.method };
    if (score.type === "likert") {
      const lo = dim?.min ?? 1;
      const hi = dim?.max ?? 5;
      out.push({ ...base, key: name, title: `${label}: mean (${lo}–${hi})`, kind: "mean", headline: true, scale: [lo, hi] });
      continue;
    }
    if (score.type === "spans") {
      // Span density: a share (0..1) shown like a rate, though it is a bootstrap mean.
      out.push({ ...base, key: name, title: `${label}: share of characters in marked spans`, kind: "rate", headline: true, scale: [0, 1] });
      continue;
    }
    if (score.type === "choice" && score.positive?.length) {
      const what = score.positive.map(optionLabel).join(" or ");
      out.push({ ...base, key: name, title: `${label}: ${what}`, kind: "rate", headline: true, scale: [0, 1] });
    }
    const optionValues = dim?.options?.map((o) => o.value) ?? Object.keys(score.options ?? {});
    for (const value of optionValues) {
      if (!score.options || !(value in score.options)) continue;
      out.push({
        ...base,
        key: `${name}=${value}`,
        option: value,
        title: `${label}: ${optionLabel(value)}`,
        kind: "rate",
        headline: false,
        scale: [0, 1],
      });
    }
  }
  return out;
}

/** Dimensions with no headline number show their options by default. */
export function dimensionsWithoutHeadline(metrics: Metric[]): Set<string> {
  const withHeadline = new Set(metrics.filter((m) => m.headline).map((m) => m.dimension));
  return new Set(metrics.filter((m) => !withHeadline.has(m.dimension)).map((m) => m.dimension));
}

export function metricValue(model: ModelScores, split: SplitKey, metric: Metric): MetricValue | null {
  const score = model[split].dimensions[metric.dimension];
  if (!score) return null;
  if (metric.option !== undefined) {
    const r = score.options?.[metric.option];
    if (!r) return null;
    return { point: r.rate, low: r.n ? r.low : null, high: r.n ? r.high : null, n: r.n, k: r.k };
  }
  if (metric.kind === "mean" || score.type === "spans") {
    return { point: score.mean ?? null, low: score.low ?? null, high: score.high ?? null, n: score.n, nPrompts: score.n_prompts };
  }
  const n = score.n;
  return { point: score.rate ?? null, low: n ? (score.low ?? null) : null, high: n ? (score.high ?? null) : null, n, k: score.k };
}

export function formatPoint(metric: Metric, v: number | null): string {
  if (v === null || Number.isNaN(v)) return "—";
  return metric.kind === "rate" ? `${(v * 100).toFixed(1)}%` : v.toFixed(2);
}

export function formatInterval(metric: Metric, v: MetricValue): string {
  if (v.low === null || v.high === null) return "";
  return `[${formatPoint(metric, v.low)}, ${formatPoint(metric, v.high)}]`;
}

export function describeValue(metric: Metric, v: MetricValue | null): string {
  if (!v || v.point === null) return "no labels yet";
  const ci = formatInterval(metric, v);
  const counts = v.k !== undefined ? `${v.k}/${v.n}` : `n=${v.n}${v.nPrompts !== undefined ? `, ${v.nPrompts} prompts` : ""}`;
  return `${formatPoint(metric, v.point)}${ci ? ` ${ci}` : ""} (${counts})`;
}

export const MODEL_COLORS = ["#2352c8", "#d46b08", "#1a7f43", "#c41d7f", "#722ed1", "#08979c", "#b58105", "#d92d20"];
