/**
 * Edits a rubric's dimensions: add, remove, reorder; label, name, type, required; options or
 * span labels; likert range and anchors; conditions (show_if). The server validates the result
 * on save; its errors, keyed like "rubric.dimensions[3].options", are shown next to the fields.
 * Problems the client can see (a required question without a label) show as the admin types,
 * and a live preview beside the editor shows the annotator's view of the draft.
 */
import { useRef, useState } from "react";
import { FieldError, describedBy, type FieldErrors } from "./fields";
import { LikertEditor, OptionsEditor, ShowIfEditor } from "./RubricParts";
import { RubricPreview } from "./RubricPreview";
import { mergeErrors, rubricProblems } from "./rubricChecks";
import {
  DIMENSION_TYPES,
  TYPE_LABELS,
  moveDimension,
  newDimension,
  removeDimension,
  renameDimension,
  replaceOptions,
  slugify,
  uniqueName,
  withType,
  type Dimension,
  type DimensionType,
  type Rubric,
} from "./rubricDraft";

/** Which part changed: one dimension's index, or "all" when dimensions moved, came or went. */
export type RubricChange = number | "all";

interface Props {
  value: Rubric;
  onChange: (next: Rubric, changed: RubricChange) => void;
  /** Server errors; keys start with "rubric". */
  errors?: FieldErrors;
}

let keySeq = 0;
const nextKey = () => `dim${++keySeq}`;

export function RubricEditor({ value, onChange, errors: serverErrors = {} }: Props) {
  const errors = mergeErrors(rubricProblems(value), serverErrors);
  // Stable React keys per dimension, kept in step with add/remove/move below.
  const keys = useRef<string[]>([]);
  if (keys.current.length !== value.dimensions.length) {
    keys.current = value.dimensions.map(() => nextKey());
  }
  // Dimensions added here whose name still follows their label (until the admin edits the name).
  const following = useRef(new Set<string>());
  const [newType, setNewType] = useState<DimensionType>("choice");

  const change = (next: Rubric, changed: RubricChange, nextKeys?: string[]) => {
    if (nextKeys) keys.current = nextKeys;
    onChange(next, changed);
  };

  const add = () => {
    const dim = newDimension(newType, value.dimensions.map((d) => d.name));
    const key = nextKey();
    following.current.add(key);
    change({ dimensions: [...value.dimensions, dim] }, "all", [...keys.current, key]);
  };
  const remove = (i: number) =>
    change(removeDimension(value, i), "all", keys.current.filter((_, j) => j !== i));
  const move = (i: number, delta: number) => {
    const ks = [...keys.current];
    const [k] = ks.splice(i, 1);
    if (k) ks.splice(i + delta, 0, k);
    change(moveDimension(value, i, delta), "all", ks);
  };

  return (
    <div className="adm-rubric-layout">
    <div className="adm-rubric">
      <RubricErrorSummary errors={serverErrors} rubric={value} />
      {value.dimensions.length === 0 && <p className="muted">The rubric has no dimensions yet.</p>}
      <ol className="adm-dim-list">
        {value.dimensions.map((dim, i) => (
          <li key={keys.current[i]}>
            <DimensionEditor
              idBase={`rubric-${keys.current[i]}`}
              rubric={value}
              index={i}
              dim={dim}
              errors={errors}
              onChange={(next) => change(next, i)}
              onMove={(delta) => move(i, delta)}
              onRemove={() => remove(i)}
              nameFollowsLabel={following.current.has(keys.current[i] ?? "")}
              onNameEdited={() => following.current.delete(keys.current[i] ?? "")}
            />
          </li>
        ))}
      </ol>
      <div className="adm-row">
        <label htmlFor="rubric-new-type">New dimension of type</label>
        <select
          id="rubric-new-type"
          className="adm-input adm-input-auto"
          value={newType}
          onChange={(e) => setNewType(e.target.value as DimensionType)}
        >
          {DIMENSION_TYPES.map((t) => (
            <option key={t} value={t}>
              {TYPE_LABELS[t]}
            </option>
          ))}
        </select>
        <button type="button" className="btn" onClick={add}>
          Add dimension
        </button>
      </div>
      <details className="adm-json">
        <summary>Rubric as JSON</summary>
        <pre data-testid="rubric-json">{JSON.stringify(value, null, 2)}</pre>
      </details>
    </div>
    <RubricPreview rubric={value} />
    </div>
  );
}

const DIM_PATH = /^rubric\.dimensions\[(\d+)\](?:\.(.*))?$/;

/** Every rubric error in one list, each named by its dimension, so none goes unseen. */
function RubricErrorSummary({ errors, rubric }: { errors: FieldErrors; rubric: Rubric }) {
  const entries = Object.entries(errors).filter(([k]) => k === "rubric" || k.startsWith("rubric."));
  if (!entries.length) return null;
  return (
    <div className="alert alert-error adm-block" role="alert">
      <div>
        <strong>The server did not accept the rubric:</strong>
        <ul className="adm-tight">
          {entries.map(([key, reasons]) => {
            const m = DIM_PATH.exec(key);
            const where = m
              ? `Dimension ${Number(m[1]) + 1}${rubric.dimensions[Number(m[1])]?.name ? ` (${rubric.dimensions[Number(m[1])]?.name})` : ""}${m[2] ? ` · ${m[2]}` : ""}`
              : key;
            return (
              <li key={key}>
                {where}: {reasons.join("; ")}
              </li>
            );
          })}
        </ul>
      </div>
    </div>
  );
}

interface DimProps {
  idBase: string;
  rubric: Rubric;
  index: number;
  dim: Dimension;
  errors: FieldErrors;
  onChange: (next: Rubric) => void;
  onMove: (delta: number) => void;
  onRemove: () => void;
  nameFollowsLabel: boolean;
  onNameEdited: () => void;
}

function DimensionEditor(props: DimProps) {
  const { idBase, rubric, index, dim, errors, onChange, onMove, onRemove, nameFollowsLabel, onNameEdited } = props;
  const err = (path?: string) => errors[`rubric.dimensions[${index}]${path ? `.${path}` : ""}`];
  const update = (patch: Partial<Dimension>) =>
    onChange({ dimensions: rubric.dimensions.map((d, i) => (i === index ? { ...d, ...patch } : d)) });
  const title = dim.label || dim.name || `Dimension ${index + 1}`;
  const hasError = Object.keys(errors).some((k) => k.startsWith(`rubric.dimensions[${index}]`));

  return (
    <fieldset className={`adm-dim${hasError ? " has-error" : ""}${dim.show_if ? " is-conditional" : ""}`}>
      <legend>
        <span className="adm-dim-num">{index + 1}.</span> {title}{" "}
        <span className="badge">{TYPE_LABELS[dim.type]}</span>
      </legend>
      <div className="adm-dim-tools">
        <button
          type="button"
          className="btn btn-small"
          onClick={() => onMove(-1)}
          disabled={index === 0}
          aria-label={`Move ${title} up`}
        >
          ↑
        </button>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => onMove(1)}
          disabled={index === rubric.dimensions.length - 1}
          aria-label={`Move ${title} down`}
        >
          ↓
        </button>
        <button type="button" className="btn btn-small btn-danger" onClick={onRemove} aria-label={`Remove ${title}`}>
          Remove
        </button>
      </div>
      <FieldError id={`${idBase}-dim`} errors={err()} />
      <div className="adm-grid">
        <div className="adm-field adm-span-2">
          <label htmlFor={`${idBase}-label`}>Question shown to annotators</label>
          <input
            {...describedBy(`${idBase}-label`, err("label"))}
            className="adm-input"
            value={dim.label}
            onChange={(e) => {
              const label = e.target.value;
              // A fresh dimension's name follows its label until the admin names it.
              const others = rubric.dimensions.filter((_, i) => i !== index).map((d) => d.name);
              const name = slugify(label) ? uniqueName(slugify(label), others) : "";
              const next = nameFollowsLabel && name ? renameDimension(rubric, index, name) : rubric;
              onChange({
                dimensions: next.dimensions.map((d, i) => (i === index ? { ...d, label } : d)),
              });
            }}
          />
          <FieldError id={`${idBase}-label`} errors={err("label")} />
        </div>
        <div className="adm-field">
          <label htmlFor={`${idBase}-name`}>Name (identifier)</label>
          <input
            {...describedBy(`${idBase}-name`, err("name"), true)}
            className="adm-input adm-mono"
            value={dim.name}
            spellCheck={false}
            onChange={(e) => {
              onNameEdited();
              onChange(renameDimension(rubric, index, e.target.value));
            }}
          />
          <p className="hint" id={`${idBase}-name-hint`}>
            Lowercase letters, digits and _; the key in exported labels.
          </p>
          <FieldError id={`${idBase}-name`} errors={err("name")} />
        </div>
        <div className="adm-field">
          <label htmlFor={`${idBase}-type`}>Type</label>
          <select
            {...describedBy(`${idBase}-type`, err("type"))}
            className="adm-input"
            value={dim.type}
            onChange={(e) => {
              const next = withType(dim, e.target.value as DimensionType);
              // Dependants keep their condition only while this stays a choice dimension.
              const stillParent = next.type === "choice" || next.type === "multi_choice";
              onChange({
                dimensions: rubric.dimensions.map((d, i) => {
                  if (i === index) return next;
                  if (!stillParent && d.show_if?.dimension === dim.name) {
                    const { show_if: _gone, ...rest } = d;
                    return rest;
                  }
                  return d;
                }),
              });
            }}
          >
            {DIMENSION_TYPES.map((t) => (
              <option key={t} value={t}>
                {TYPE_LABELS[t]}
              </option>
            ))}
          </select>
          <FieldError id={`${idBase}-type`} errors={err("type")} />
        </div>
        <div className="adm-field adm-check">
          <input
            type="checkbox"
            {...describedBy(`${idBase}-required`, err("required"))}
            checked={!!dim.required}
            onChange={(e) => update({ required: e.target.checked })}
          />
          <label htmlFor={`${idBase}-required`}>Required</label>
          <FieldError id={`${idBase}-required`} errors={err("required")} />
        </div>
      </div>

      {(dim.type === "choice" || dim.type === "multi_choice") && (
        <OptionsEditor
          idBase={`${idBase}-options`}
          legend="Options"
          options={dim.options ?? []}
          positive={dim.type === "choice" ? (dim.positive ?? []) : undefined}
          errors={errors}
          errorPrefix={`rubric.dimensions[${index}].options`}
          positiveErrors={err("positive")}
          onChange={(options, renamed) => onChange(replaceOptions(rubric, index, "options", options, renamed))}
          onPositive={(positive) => update({ positive })}
        />
      )}
      {dim.type === "spans" && (
        <OptionsEditor
          idBase={`${idBase}-labels`}
          legend="Span labels"
          options={dim.labels ?? []}
          errors={errors}
          errorPrefix={`rubric.dimensions[${index}].labels`}
          onChange={(labels) => onChange(replaceOptions(rubric, index, "labels", labels))}
        />
      )}
      {dim.type === "likert" && <LikertEditor idBase={idBase} dim={dim} err={err} update={update} />}
      {dim.type === "text" && (
        <div className="adm-field adm-narrow">
          <label htmlFor={`${idBase}-maxlen`}>Maximum length (characters)</label>
          <input
            type="number"
            min={1}
            max={10000}
            {...describedBy(`${idBase}-maxlen`, err("max_length"))}
            className="adm-input"
            value={dim.max_length ?? ""}
            onChange={(e) => update({ max_length: e.target.value === "" ? undefined : Number(e.target.value) })}
          />
          <FieldError id={`${idBase}-maxlen`} errors={err("max_length")} />
        </div>
      )}
      <ShowIfEditor idBase={idBase} rubric={rubric} index={index} dim={dim} err={err} update={update} onChange={onChange} />
    </fieldset>
  );
}
