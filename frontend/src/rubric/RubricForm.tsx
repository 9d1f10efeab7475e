import type { DimensionContext } from "./kind";
import { kindOf } from "./registry";
import { applicableDimensions, dimensionTitle, type Dimension, type Rubric, type Values } from "./types";

interface RubricFormProps {
  rubric: Rubric;
  values: Values;
  onChange(name: string, value: unknown): void;
  /** Reasons per dimension name, from a rejected submit. */
  errors: Record<string, string[]>;
  context: Omit<DimensionContext, "letterKeys">;
  letterKeys: Record<string, string[]>;
  activeDimension: string | null;
  onActivate(name: string): void;
  idPrefix?: string;
}

/** The rubric, rendered from its JSON: one frame per applicable dimension, its body by type. */
export function RubricForm(props: RubricFormProps) {
  const { rubric, values } = props;
  const dims = applicableDimensions(rubric, values);
  return (
    <div className="rubric">
      {dims.map((dim) => (
        <DimensionFrame key={dim.name} dim={dim} {...props} />
      ))}
    </div>
  );
}

function DimensionFrame({
  dim,
  values,
  onChange,
  errors,
  context,
  letterKeys,
  activeDimension,
  onActivate,
  idPrefix = "dim",
}: RubricFormProps & { dim: Dimension }) {
  const kind = kindOf(dim.type);
  const id = `${idPrefix}-${dim.name}`;
  const labelId = `${id}-label`;
  const dimErrors = errors[dim.name];
  const errorId = dimErrors?.length ? `${id}-error` : undefined;
  const classes = ["dimension"];
  if (activeDimension === dim.name) classes.push("is-active");
  if (errorId) classes.push("has-error");
  if (dim.show_if) classes.push("is-conditional");
  return (
    <fieldset
      className={classes.join(" ")}
      data-dimension={dim.name}
      tabIndex={-1}
      aria-describedby={errorId}
      aria-current={activeDimension === dim.name ? "step" : undefined}
      onFocus={() => onActivate(dim.name)}
      onPointerDown={() => onActivate(dim.name)}
    >
      <legend id={labelId}>
        <span>{dimensionTitle(dim)}</span>
        {dim.required && (
          <>
            <span className="required-mark" aria-hidden="true">
              *
            </span>
            <span className="sr-only">(required)</span>
          </>
        )}
      </legend>
      {typeof dim.help === "string" && <p className="hint">{dim.help}</p>}
      {kind ? (
        <kind.Component
          dim={dim}
          value={values[dim.name]}
          onChange={(value) => onChange(dim.name, value)}
          ctx={{ ...context, letterKeys: letterKeys[dim.name] ?? [] }}
          labelId={labelId}
          idPrefix={id}
          errorId={errorId}
        />
      ) : (
        <p className="dimension-error">This question has a type (“{dim.type}”) that this version of the app cannot show.</p>
      )}
      {errorId && (
        <p id={errorId} className="dimension-error">
          {dimErrors!.join("; ")}
        </p>
      )}
    </fieldset>
  );
}
