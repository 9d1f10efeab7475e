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

export function applicableDimensions(rubric: Rubric, values: Values): Dimension[] {
  const kept: Values = {};
  const out: Dimension[] = [];
  for (const dim of rubric.dimensions) {
    if (!dimensionApplies(dim, kept)) continue;
    out.push(dim);
    if (!isEmptyValue(values[dim.name])) kept[dim.name] = values[dim.name];
  }
  return out;
}

export function missingRequired(rubric: Rubric, values: Values): Dimension[] {
  return applicableDimensions(rubric, values).filter((d) => d.required && isEmptyValue(values[d.name]));
}
