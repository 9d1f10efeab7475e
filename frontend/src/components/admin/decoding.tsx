/** Decoding settings as the admin types them: blank means "the model's default". */
import { FieldError, describedBy, type FieldErrors } from "./fields";

const DECODING_KEYS = ["temperature", "top_p", "max_new_tokens", "seed", "samples_per_prompt"] as const;
type DecodingKey = (typeof DECODING_KEYS)[number];
export type DecodingDraft = Record<DecodingKey, string>;

const META: Record<DecodingKey, { label: string; step: string; min: number; max: number; hint: string }> = {
  temperature: { label: "Temperature", step: "0.05", min: 0, max: 5, hint: "0 is greedy" },
  top_p: { label: "Top-p", step: "0.01", min: 0, max: 1, hint: "nucleus sampling, 0–1" },
  max_new_tokens: { label: "Max new tokens", step: "1", min: 1, max: 4096, hint: "1–4096" },
  seed: { label: "Seed", step: "1", min: 0, max: 2 ** 31 - 1, hint: "for reproducible sampling" },
  samples_per_prompt: { label: "Samples per prompt", step: "1", min: 1, max: 100, hint: "outputs per prompt and model" },
};

export const emptyDecoding = (): DecodingDraft => ({
  temperature: "",
  top_p: "",
  max_new_tokens: "",
  seed: "",
  samples_per_prompt: "",
});

/** The params object to send: only the fields that were filled in. */
export function decodingParams(draft: DecodingDraft): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of DECODING_KEYS) {
    const text = draft[key].trim();
    if (text !== "") out[key] = Number(text);
  }
  return out;
}

export function describeParams(params: unknown): string {
  if (!params || typeof params !== "object") return "model defaults";
  const parts = Object.entries(params as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? parts.join(", ") : "model defaults";
}

interface Props {
  idBase: string;
  value: DecodingDraft;
  onChange: (next: DecodingDraft) => void;
  /** Errors keyed by parameter name (the server's "params." prefix removed). */
  errors?: FieldErrors;
  legend?: string;
  placeholders?: Partial<Record<DecodingKey, string>>;
}

export function DecodingFields({ idBase, value, onChange, errors = {}, legend = "Decoding", placeholders }: Props) {
  return (
    <fieldset className="adm-subfieldset">
      <legend>{legend}</legend>
      <div className="adm-decoding">
        {DECODING_KEYS.map((key) => {
          const id = `${idBase}-${key}`;
          const meta = META[key];
          return (
            <div className="adm-field" key={key}>
              <label htmlFor={id}>{meta.label}</label>
              <input
                type="number"
                inputMode="decimal"
                step={meta.step}
                min={meta.min}
                max={meta.max}
                placeholder={placeholders?.[key] ?? "default"}
                {...describedBy(id, errors[key], true)}
                className="adm-input"
                value={value[key]}
                onChange={(e) => onChange({ ...value, [key]: e.target.value })}
              />
              <p className="hint" id={`${id}-hint`}>
                {meta.hint}
              </p>
              <FieldError id={id} errors={errors[key]} />
            </div>
          );
        })}
      </div>
    </fieldset>
  );
}
