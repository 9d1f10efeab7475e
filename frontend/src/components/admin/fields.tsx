/** Small accessible form pieces: every error list has an id that its control names in aria-describedby. */
import { ApiError } from "../../api/client";

export type FieldErrors = Record<string, string[]>;

/** Field errors of a failed call (server paths like "rubric.dimensions[3].options"). */
export function fieldErrorsOf(error: unknown): FieldErrors {
  return error instanceof ApiError ? error.fieldErrors : {};
}

/** Errors whose path starts with `prefix`, with the prefix removed ("params.top_p" → "top_p"). */
export function errorsUnder(errors: FieldErrors, prefix: string): FieldErrors {
  const out: FieldErrors = {};
  for (const [key, reasons] of Object.entries(errors)) {
    if (key.startsWith(prefix)) out[key.slice(prefix.length)] = reasons;
  }
  return out;
}

/** Props that tie a control to its error list and hint. */
export function describedBy(id: string, errors: string[] | undefined, hint = false) {
  const ids = [errors?.length ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean);
  return {
    id,
    "aria-invalid": errors?.length ? true : undefined,
    "aria-describedby": ids.length ? ids.join(" ") : undefined,
  } as const;
}

export function FieldError({ id, errors }: { id: string; errors: string[] | undefined }) {
  if (!errors?.length) return null;
  return (
    <ul className="adm-field-error" id={`${id}-error`}>
      {errors.map((reason, i) => (
        <li key={i}>{reason}</li>
      ))}
    </ul>
  );
}

/** Errors with no field on screen: listed with their server path so none is lost. */
export function OtherErrors({ errors, shown }: { errors: FieldErrors; shown: ReadonlySet<string> }) {
  const rest = Object.entries(errors).filter(([key]) => !shown.has(key));
  if (!rest.length) return null;
  return (
    <ul className="adm-field-error" role="alert">
      {rest.map(([key, reasons]) => (
        <li key={key}>
          {key ? <code>{key}</code> : null}
          {key ? ": " : null}
          {reasons.join("; ")}
        </li>
      ))}
    </ul>
  );
}

type InputProps = Omit<React.InputHTMLAttributes<HTMLInputElement>, "id" | "onChange" | "value"> & {
  id: string;
  label: React.ReactNode;
  value: string;
  onChange: (value: string) => void;
  errors?: string[];
  hint?: React.ReactNode;
};

/** A labelled text or number input with its hint and errors. */
export function TextField({ id, label, value, onChange, errors, hint, className, ...rest }: InputProps) {
  return (
    <div className={`adm-field ${className ?? ""}`}>
      <label htmlFor={id}>{label}</label>
      <input
        {...rest}
        {...describedBy(id, errors, !!hint)}
        className="adm-input"
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <FieldError id={id} errors={errors} />
    </div>
  );
}

/** A settings form's save button and its "Saved." once the server took the change. */
export function SaveActions({ label, dirty, pending, saved }: { label: string; dirty: boolean; pending: boolean; saved: boolean }) {
  return (
    <div className="adm-actions">
      <button type="submit" className="btn btn-primary" disabled={!dirty || pending}>
        {pending ? "Saving…" : label}
      </button>
      {saved && !dirty && (
        <span className="adm-ok" role="status">
          Saved.
        </span>
      )}
    </div>
  );
}
