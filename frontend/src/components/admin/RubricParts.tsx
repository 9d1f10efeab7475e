/** The rubric editor's pieces: options or span labels, a likert scale, and a condition (show_if). */
import { FieldError, describedBy, type FieldErrors } from "./fields";
import { conditionParents, slugify, type Dimension, type Rubric, type RubricOption } from "./rubricDraft";

interface OptionsProps {
  idBase: string;
  legend: string;
  options: RubricOption[];
  /** choice dimensions only: the values whose rate the scores report */
  positive?: string[];
  errors: FieldErrors;
  errorPrefix: string;
  positiveErrors?: string[];
  onChange: (options: RubricOption[], renamed?: { from: string; to: string }) => void;
  onPositive?: (positive: string[]) => void;
}

export function OptionsEditor(props: OptionsProps) {
  const { idBase, legend, options, positive, errors, errorPrefix, positiveErrors, onChange, onPositive } = props;
  const set = (j: number, option: RubricOption, renamed?: { from: string; to: string }) =>
    onChange(
      options.map((o, k) => (k === j ? option : o)),
      renamed,
    );
  return (
    <fieldset className="adm-subfieldset">
      <legend>{legend}</legend>
      <FieldError id={idBase} errors={errors[errorPrefix]} />
      <table className="adm-options">
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Value</th>
            {positive && (
              <th scope="col" title="The scores report the rate of these values (e.g. unsafe)">
                Counts as positive
              </th>
            )}
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {options.map((o, j) => {
            const rowErrors = errors[`${errorPrefix}[${j}]`];
            const id = `${idBase}-${j}`;
            return (
              <tr key={j}>
                <td>
                  <input
                    aria-label={`${legend} ${j + 1} label`}
                    id={`${id}-label`}
                    aria-invalid={rowErrors?.length ? true : undefined}
                    aria-describedby={rowErrors?.length ? `${id}-error` : undefined}
                    className="adm-input"
                    value={o.label}
                    onChange={(e) => {
                      const label = e.target.value;
                      const follows = o.value === "" || o.value === slugify(o.label);
                      const value = follows ? slugify(label) : o.value;
                      set(j, { label, value }, value !== o.value ? { from: o.value, to: value } : undefined);
                    }}
                  />
                </td>
                <td>
                  <input
                    aria-label={`${legend} ${j + 1} value`}
                    id={`${id}-value`}
                    aria-invalid={rowErrors?.length ? true : undefined}
                    aria-describedby={rowErrors?.length ? `${id}-error` : undefined}
                    className="adm-input adm-mono"
                    spellCheck={false}
                    value={o.value}
                    onChange={(e) => set(j, { ...o, value: e.target.value }, { from: o.value, to: e.target.value })}
                  />
                  <FieldError id={id} errors={rowErrors} />
                </td>
                {positive && (
                  <td className="adm-center">
                    <input
                      type="checkbox"
                      aria-label={`${o.label || o.value || `Option ${j + 1}`} counts as positive`}
                      aria-describedby={positiveErrors?.length ? `${idBase}-positive-error` : undefined}
                      checked={positive.includes(o.value)}
                      onChange={(e) =>
                        onPositive?.(
                          e.target.checked ? [...positive, o.value] : positive.filter((v) => v !== o.value),
                        )
                      }
                    />
                  </td>
                )}
                <td>
                  <button
                    type="button"
                    className="btn btn-small btn-danger"
                    aria-label={`Remove ${legend.toLowerCase()} ${o.label || o.value || j + 1}`}
                    onClick={() => onChange(options.filter((_, k) => k !== j))}
                  >
                    ✕
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {positive && <FieldError id={`${idBase}-positive`} errors={positiveErrors} />}
      <button
        type="button"
        className="btn btn-small"
        onClick={() => onChange([...options, { value: "", label: "" }])}
      >
        Add {legend === "Options" ? "option" : "label"}
      </button>
    </fieldset>
  );
}

interface PartProps {
  idBase: string;
  dim: Dimension;
  err: (path?: string) => string[] | undefined;
  update: (patch: Partial<Dimension>) => void;
}

export function LikertEditor({ idBase, dim, err, update }: PartProps) {
  const lo = dim.min;
  const hi = dim.max;
  const points =
    Number.isInteger(lo) && Number.isInteger(hi) && lo! < hi! && hi! - lo! <= 20
      ? Array.from({ length: hi! - lo! + 1 }, (_, k) => lo! + k)
      : [];
  const anchors = dim.anchors ?? {};
  const num = (text: string) => (text === "" ? undefined : Number(text));
  return (
    <fieldset className="adm-subfieldset">
      <legend>Scale</legend>
      <div className="adm-row">
        <div className="adm-field adm-narrow">
          <label htmlFor={`${idBase}-min`}>Lowest point</label>
          <input
            type="number"
            step={1}
            {...describedBy(`${idBase}-min`, err("min"))}
            className="adm-input"
            value={lo ?? ""}
            onChange={(e) => update({ min: num(e.target.value) })}
          />
          <FieldError id={`${idBase}-min`} errors={err("min")} />
        </div>
        <div className="adm-field adm-narrow">
          <label htmlFor={`${idBase}-max`}>Highest point</label>
          <input
            type="number"
            step={1}
            {...describedBy(`${idBase}-max`, err("max"))}
            className="adm-input"
            value={hi ?? ""}
            onChange={(e) => update({ max: num(e.target.value) })}
          />
          <FieldError id={`${idBase}-max`} errors={err("max")} />
        </div>
      </div>
      <FieldError id={`${idBase}-anchors`} errors={err("anchors")} />
      {points.length > 0 ? (
        <div className="adm-anchors">
          {points.map((p) => (
            <div className="adm-field" key={p}>
              <label htmlFor={`${idBase}-anchor-${p}`}>Anchor for {p}</label>
              <input
                id={`${idBase}-anchor-${p}`}
                className="adm-input"
                placeholder="(none)"
                value={anchors[String(p)] ?? ""}
                onChange={(e) => {
                  const next = { ...anchors };
                  if (e.target.value) next[String(p)] = e.target.value;
                  else delete next[String(p)];
                  update({ anchors: next });
                }}
              />
            </div>
          ))}
        </div>
      ) : (
        <p className="hint">Set whole numbers with the lowest below the highest (at most 21 points) to edit anchors.</p>
      )}
    </fieldset>
  );
}

export function ShowIfEditor({
  idBase,
  rubric,
  index,
  dim,
  err,
  update,
  onChange,
}: PartProps & { rubric: Rubric; index: number; onChange: (next: Rubric) => void }) {
  const parents = conditionParents(rubric, index);
  const cond = dim.show_if;
  const parent = cond ? rubric.dimensions.find((d) => d.name === cond.dimension) : undefined;
  const parentIsEarlier = !!cond && parents.some((p) => p.name === cond.dimension);
  const errors = [...(err("show_if") ?? []), ...(err("show_if.in") ?? [])];
  const toggleId = `${idBase}-cond`;
  return (
    <div className="adm-cond">
      <div className="adm-check">
        <input
          type="checkbox"
          id={toggleId}
          checked={!!cond}
          disabled={!cond && parents.length === 0}
          aria-describedby={errors.length ? `${toggleId}-error` : `${toggleId}-hint`}
          onChange={(e) => {
            if (e.target.checked && parents[0]) {
              update({ show_if: { dimension: parents[0].name, in: [] } });
            } else {
              onChange({
                dimensions: rubric.dimensions.map((d, i) => {
                  if (i !== index) return d;
                  const { show_if: _off, ...rest } = d;
                  return rest;
                }),
              });
            }
          }}
        />
        <label htmlFor={toggleId}>Ask only when an earlier answer is one of some values</label>
      </div>
      {!cond && (
        <p className="hint" id={`${toggleId}-hint`}>
          {parents.length ? "For example: hazard category only when harm is unsafe." : "Needs an earlier choice dimension."}
        </p>
      )}
      {cond && (
        <div className="adm-cond-body">
          <div className="adm-field adm-narrow">
            <label htmlFor={`${idBase}-cond-dim`}>Depends on</label>
            <select
              id={`${idBase}-cond-dim`}
              className="adm-input"
              value={cond.dimension}
              onChange={(e) => update({ show_if: { dimension: e.target.value, in: [] } })}
            >
              {!parentIsEarlier && <option value={cond.dimension}>{cond.dimension || "(none)"} — not an earlier choice</option>}
              {parents.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.label || p.name} ({p.name})
                </option>
              ))}
            </select>
          </div>
          {!parentIsEarlier && (
            <p className="adm-warn">Move “{cond.dimension}” above this dimension, or pick another one.</p>
          )}
          {parent?.options && (
            <fieldset className="adm-subfieldset adm-inline-checks">
              <legend>When “{parent.label || parent.name}” is</legend>
              {parent.options.map((o, j) => {
                const id = `${idBase}-cond-${j}`;
                return (
                  <span className="adm-check" key={`${o.value}-${j}`}>
                    <input
                      type="checkbox"
                      id={id}
                      checked={cond.in.includes(o.value)}
                      onChange={(e) =>
                        update({
                          show_if: {
                            dimension: cond.dimension,
                            in: e.target.checked ? [...cond.in, o.value] : cond.in.filter((v) => v !== o.value),
                          },
                        })
                      }
                    />
                    <label htmlFor={id}>{o.label || o.value}</label>
                  </span>
                );
              })}
            </fieldset>
          )}
        </div>
      )}
      <FieldError id={toggleId} errors={errors.length ? errors : undefined} />
    </div>
  );
}
