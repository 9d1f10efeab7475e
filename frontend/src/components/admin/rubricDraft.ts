/**
 * The rubric document as the editor handles it. The API types a rubric as free JSON (it is
 * validated by the server, see labeling/rubric.py), so its shape is described here once.
 */

export const DIMENSION_TYPES = ["choice", "multi_choice", "likert", "spans", "text"] as const;
export type DimensionType = (typeof DIMENSION_TYPES)[number];

export const TYPE_LABELS: Record<DimensionType, string> = {
  choice: "Single choice",
  multi_choice: "Multiple choice",
  likert: "Likert scale",
  spans: "Spans over the output",
  text: "Free text",
};

export interface RubricOption {
  value: string;
  label: string;
  /** One letter that answers this option in the workspace (kept as the rubric has it). */
  hotkey?: string;
}

export interface ShowIf {
  dimension: string;
  in: string[];
}

export interface Dimension {
  name: string;
  type: DimensionType;
  label: string;
  required?: boolean;
  show_if?: ShowIf;
  /** choice, multi_choice */
  options?: RubricOption[];
  /** choice: values whose rate the scores report */
  positive?: string[];
  /** likert */
  min?: number;
  max?: number;
  anchors?: Record<string, string>;
  /** spans */
  labels?: RubricOption[];
  /** text */
  max_length?: number;
  /** spans: widen selections to whole words (default true). */
  snap_to_words?: boolean;
}

export interface Rubric {
  dimensions: Dimension[];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function parseOptions(v: unknown): RubricOption[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.filter(isRecord).map((o) => ({
    value: String(o.value ?? ""),
    label: String(o.label ?? ""),
    ...(typeof o.hotkey === "string" ? { hotkey: o.hotkey } : {}),
  }));
}

/** Read a rubric from JSON (the default rubric, or a campaign's); unknown keys are dropped. */
export function parseRubric(raw: unknown): Rubric {
  const dims = isRecord(raw) && Array.isArray(raw.dimensions) ? raw.dimensions : [];
  return {
    dimensions: dims.filter(isRecord).map((d) => {
      const type = (DIMENSION_TYPES as readonly string[]).includes(String(d.type))
        ? (d.type as DimensionType)
        : "text";
      const dim: Dimension = { name: String(d.name ?? ""), type, label: String(d.label ?? "") };
      if (typeof d.required === "boolean") dim.required = d.required;
      if (isRecord(d.show_if)) {
        dim.show_if = {
          dimension: String(d.show_if.dimension ?? ""),
          in: Array.isArray(d.show_if.in) ? d.show_if.in.map(String) : [],
        };
      }
      const options = parseOptions(d.options);
      if (options) dim.options = options;
      if (Array.isArray(d.positive)) dim.positive = d.positive.map(String);
      if (typeof d.min === "number") dim.min = d.min;
      if (typeof d.max === "number") dim.max = d.max;
      if (isRecord(d.anchors)) {
        dim.anchors = Object.fromEntries(Object.entries(d.anchors).map(([k, v]) => [k, String(v)]));
      }
      const labels = parseOptions(d.labels);
      if (labels) dim.labels = labels;
      if (typeof d.max_length === "number") dim.max_length = d.max_length;
      if (typeof d.snap_to_words === "boolean") dim.snap_to_words = d.snap_to_words;
      return dim;
    }),
  };
}

/** "Violent crime" → "violent_crime": a value or name in the server's identifier style. */
export function slugify(text: string): string {
  const slug = text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 64);
  return /^[a-z]/.test(slug) ? slug : slug ? `d_${slug}`.slice(0, 64) : "";
}

export function uniqueName(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) {
    const candidate = `${base}_${i}`;
    if (!used.has(candidate)) return candidate;
  }
}

/** A dimension of the given type with sensible starting content. */
export function newDimension(type: DimensionType, taken: Iterable<string>): Dimension {
  const name = uniqueName(type === "multi_choice" ? "multi" : type, taken);
  return withType({ name, type: "text", label: "", required: true }, type);
}

/** The same dimension as another type: keeps what carries over, fills in what the type needs. */
export function withType(dim: Dimension, type: DimensionType): Dimension {
  const base: Dimension = { name: dim.name, type, label: dim.label, required: dim.required ?? false };
  if (dim.show_if) base.show_if = dim.show_if;
  const someOptions = dim.options ?? dim.labels;
  const starter = [
    { value: "yes", label: "Yes" },
    { value: "no", label: "No" },
  ];
  switch (type) {
    case "choice":
      return { ...base, options: someOptions ?? starter, positive: dim.type === "choice" ? (dim.positive ?? []) : [] };
    case "multi_choice":
      return { ...base, options: someOptions ?? starter };
    case "spans":
      return { ...base, labels: someOptions ?? [{ value: "label", label: "Label" }] };
    case "likert":
      return { ...base, min: dim.min ?? 1, max: dim.max ?? 5, anchors: dim.anchors ?? {} };
    case "text":
      return { ...base, max_length: dim.max_length ?? 2000 };
  }
}

/** Rename a dimension and every show_if that points at it. */
export function renameDimension(rubric: Rubric, index: number, name: string): Rubric {
  const old = rubric.dimensions[index]?.name;
  return {
    dimensions: rubric.dimensions.map((d, i) => {
      if (i === index) return { ...d, name };
      if (old !== undefined && d.show_if?.dimension === old) return { ...d, show_if: { ...d.show_if, dimension: name } };
      return d;
    }),
  };
}

/** Remove a dimension; conditions that depended on it go too, so the rest stays valid. */
export function removeDimension(rubric: Rubric, index: number): Rubric {
  const gone = rubric.dimensions[index]?.name;
  return {
    dimensions: rubric.dimensions
      .filter((_, i) => i !== index)
      .map((d) => {
        if (d.show_if?.dimension !== gone) return d;
        const { show_if: _dropped, ...rest } = d;
        return rest;
      }),
  };
}

export function moveDimension(rubric: Rubric, index: number, delta: number): Rubric {
  const target = index + delta;
  if (target < 0 || target >= rubric.dimensions.length) return rubric;
  const dims = [...rubric.dimensions];
  const [moved] = dims.splice(index, 1);
  if (moved) dims.splice(target, 0, moved);
  return { dimensions: dims };
}

/**
 * Option values of a choice dimension changed: keep `positive` and dependants' show_if lists to
 * values that still exist (a renamed value is followed, a removed one is dropped).
 */
export function replaceOptions(
  rubric: Rubric,
  index: number,
  key: "options" | "labels",
  options: RubricOption[],
  renamed?: { from: string; to: string },
): Rubric {
  const dim = rubric.dimensions[index];
  if (!dim) return rubric;
  const values = new Set(options.map((o) => o.value));
  const follow = (v: string) => (renamed && v === renamed.from ? renamed.to : v);
  const keep = (list: string[]) => list.map(follow).filter((v) => values.has(v));
  return {
    dimensions: rubric.dimensions.map((d, i) => {
      if (i === index) {
        const next: Dimension = { ...d, [key]: options };
        if (key === "options" && d.positive) next.positive = keep(d.positive);
        return next;
      }
      if (key === "options" && d.show_if?.dimension === dim.name) {
        return { ...d, show_if: { ...d.show_if, in: keep(d.show_if.in) } };
      }
      return d;
    }),
  };
}

/** Dimensions a show_if on dimension `index` may name: earlier choice or multi_choice ones. */
export function conditionParents(rubric: Rubric, index: number): Dimension[] {
  return rubric.dimensions
    .slice(0, index)
    .filter((d) => (d.type === "choice" || d.type === "multi_choice") && d.name);
}
