/**
 * The rubric JSON (see labeling/rubric.py): a list of typed dimensions. The schema types the
 * rubric as `unknown`, so it is checked here at runtime; type-specific keys stay untyped in the
 * base shape and each dimension kind reads its own.
 */

export interface ShowIf {
  dimension: string;
  in: string[];
}

export interface Dimension {
  name: string;
  type: string;
  label?: string;
  required?: boolean;
  show_if?: ShowIf;
  help?: string;
  [key: string]: unknown;
}

export interface Rubric {
  dimensions: Dimension[];
}

export type Values = Record<string, unknown>;

export interface Option {
  value: string;
  label?: string;
  /** One letter that answers this option from anywhere in the workspace (rubric option). */
  hotkey?: string;
}

export function parseRubric(raw: unknown): Rubric {
  if (!raw || typeof raw !== "object" || !Array.isArray((raw as Rubric).dimensions)) {
    throw new Error('The campaign\'s rubric is not valid: expected an object with a "dimensions" list.');
  }
  const dimensions = (raw as Rubric).dimensions.filter(
    (d): d is Dimension => !!d && typeof d === "object" && typeof d.name === "string" && typeof d.type === "string",
  );
  return { dimensions };
}

export function dimensionTitle(dim: Dimension): string {
  return dim.label || dim.name;
}

/** Options of a choice-like dimension (`options`) or of a spans dimension (`labels`). */
export function optionsOf(dim: Dimension, key: "options" | "labels" = "options"): Option[] {
  const raw = dim[key];
  if (!Array.isArray(raw)) return [];
  return raw.filter((o): o is Option => !!o && typeof o === "object" && typeof (o as Option).value === "string");
}

function isEmptyValue(value: unknown): boolean {
  return value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);
}

/** Mirrors labeling.rubric.dimension_applies: evaluated against the values kept so far. */
export function dimensionApplies(dim: Dimension, values: Values): boolean {
  const showIf = dim.show_if;
  if (!showIf) return true;
  const parent = values[showIf.dimension];
  if (Array.isArray(parent)) return parent.some((v) => showIf.in.includes(v as string));
  return showIf.in.includes(parent as string);
}

/**
 * The values as the server will see them: dimensions that no longer apply and empty answers are
 * dropped, in rubric order, so a child follows its parent (as the server validates).
 */
export function pruneValues(rubric: Rubric, values: Values): Values {
  const kept: Values = {};
  for (const dim of rubric.dimensions) {
    const value = values[dim.name];
    if (isEmptyValue(value) || !dimensionApplies(dim, kept)) continue;
    kept[dim.name] = value;
  }
  return kept;
}

/**
 * The questions on screen, in the order the keyboard walks them: each conditional question
 * right after the question that opened it (and its earlier conditionals), wherever the rubric
 * lists it, so opening one never moves the questions after the parent around.
 */
export function applicableDimensions(rubric: Rubric, values: Values): Dimension[] {
  const kept: Values = {};
  const applicable: Dimension[] = [];
  for (const dim of rubric.dimensions) {
    if (!dimensionApplies(dim, kept)) continue;
    applicable.push(dim);
    if (!isEmptyValue(values[dim.name])) kept[dim.name] = values[dim.name];
  }
  const children = new Map<string, Dimension[]>();
  for (const dim of applicable) {
    if (dim.show_if) {
      const list = children.get(dim.show_if.dimension) ?? [];
      list.push(dim);
      children.set(dim.show_if.dimension, list);
    }
  }
  const out: Dimension[] = [];
  const visit = (dim: Dimension) => {
    out.push(dim);
    for (const child of children.get(dim.name) ?? []) visit(child);
  };
  for (const dim of applicable) if (!dim.show_if) visit(dim);
  return out;
}

/** Whether a spans question widens selections to whole words (the default). */
export function snapsToWords(dim: Dimension): boolean {
  return dim.snap_to_words !== false;
}

export function missingRequired(rubric: Rubric, values: Values): Dimension[] {
  return applicableDimensions(rubric, values).filter((d) => d.required && isEmptyValue(values[d.name]));
}

/**
 * The question to make active after `name` takes `value`: a question this answer opened (the
 * first, right after its parent); else with `advance`, the question after `name`; else null.
 */
export function nextActive(rubric: Rubric, values: Values, name: string, value: unknown, advance: boolean): string | null {
  const before = new Set(applicableDimensions(rubric, values).map((d) => d.name));
  const after = applicableDimensions(rubric, pruneValues(rubric, { ...values, [name]: value }));
  const opened = after.find((d) => d.show_if?.dimension === name && !before.has(d.name));
  if (opened) return opened.name;
  if (!advance) return null;
  const i = after.findIndex((d) => d.name === name);
  return after[i + 1]?.name ?? null;
}
