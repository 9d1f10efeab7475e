/** Candidate models: pick the ones to generate with, or register a new one (staff). */
import { useId, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { ErrorMessage } from "../ErrorMessage";
import { DecodingFields, decodingParams, describeParams, emptyDecoding, type DecodingDraft } from "./decoding";
import { FieldError, OtherErrors, TextField, errorsUnder, fieldErrorsOf } from "./fields";
import { adminKeys, modelsQuery, type CandidateModel } from "./adminQueries";

interface Props {
  selected: number[];
  onSelectedChange: (ids: number[]) => void;
}

export function ModelPicker({ selected, onSelectedChange }: Props) {
  const uid = useId();
  const models = useQuery(modelsQuery);
  const list = models.data ?? [];
  const toggle = (id: number, on: boolean) =>
    onSelectedChange(on ? [...selected, id] : selected.filter((x) => x !== id));

  return (
    <div className="adm-stack">
      <fieldset className="adm-subfieldset">
        <legend>Candidate models</legend>
        {models.isPending && <p className="muted">Loading models…</p>}
        {models.error && <ErrorMessage error={models.error} />}
        {models.isSuccess && list.length === 0 && <p className="muted">No model is registered yet: add one below.</p>}
        {list.length > 0 && (
          <ul className="adm-model-list">
            {list.map((m) => (
              <ModelRow
                key={m.id}
                id={`${uid}-m${m.id}`}
                model={m}
                checked={selected.includes(m.id)}
                onToggle={(on) => toggle(m.id, on)}
              />
            ))}
          </ul>
        )}
      </fieldset>
      <RegisterModel onCreated={(m) => onSelectedChange([...selected, m.id])} />
    </div>
  );
}

function ModelRow({
  id,
  model,
  checked,
  onToggle,
}: {
  id: string;
  model: CandidateModel;
  checked: boolean;
  onToggle: (on: boolean) => void;
}) {
  const imported = model.backend === "imported";
  return (
    <li className={`adm-model${checked ? " is-on" : ""}`}>
      <input
        type="checkbox"
        id={id}
        checked={checked}
        disabled={imported}
        aria-describedby={`${id}-desc`}
        onChange={(e) => onToggle(e.target.checked)}
      />
      <div>
        <label htmlFor={id} className="adm-model-name">
          {model.name}
        </label>
        <div id={`${id}-desc`} className="hint">
          {imported ? (
            "Outputs are imported: this model cannot generate."
          ) : (
            <>
              {model.backend} · <code>{model.path || "(no path)"}</code>
              {model.revision ? ` · rev ${model.revision.slice(0, 12)}` : ""} · defaults:{" "}
              {describeParams(model.default_decoding)}
            </>
          )}
        </div>
      </div>
    </li>
  );
}

function RegisterModel({ onCreated }: { onCreated: (m: CandidateModel) => void }) {
  const uid = useId();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [path, setPath] = useState("");
  const [decoding, setDecoding] = useState<DecodingDraft>(emptyDecoding);

  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/models/", {
          body: { name, backend: "transformers", path, default_decoding: decodingParams(decoding) },
        }),
      ),
    onSuccess: (model) => {
      void qc.invalidateQueries({ queryKey: adminKeys.models });
      onCreated(model);
      setName("");
      setPath("");
      setDecoding(emptyDecoding());
      setOpen(false);
    },
  });
  const errors = fieldErrorsOf(create.error);
  // decoding_params names its fields "params.x"; the serializer names "default_decoding".
  const decodingErrors = errorsUnder(errors, "params.");
  const shown = new Set(["name", "path", "backend", ...Object.keys(decodingErrors).map((k) => `params.${k}`)]);

  if (!open) {
    return (
      <div>
        <button type="button" className="btn" onClick={() => setOpen(true)}>
          Register a model…
        </button>
      </div>
    );
  }
  return (
    <form
      className="adm-subform"
      aria-labelledby={`${uid}-title`}
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <h4 id={`${uid}-title`}>Register a model</h4>
      <div className="adm-row">
        <TextField id={`${uid}-name`} label="Name" value={name} onChange={setName} errors={errors.name} required />
        <TextField
          id={`${uid}-path`}
          label="Path on the GPU workers"
          value={path}
          onChange={setPath}
          errors={errors.path}
          hint="A local model folder, or a .gguf file (backend: transformers)."
          className="adm-grow"
          required
        />
      </div>
      <FieldError id={`${uid}-backend`} errors={errors.backend} />
      <DecodingFields
        idBase={`${uid}-dec`}
        legend="Default decoding (optional)"
        value={decoding}
        onChange={setDecoding}
        errors={decodingErrors}
      />
      <OtherErrors errors={errors} shown={shown} />
      {create.error && Object.keys(errors).length === 0 && <ErrorMessage error={create.error} />}
      <div className="adm-actions">
        <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim()}>
          {create.isPending ? "Registering…" : "Register"}
        </button>
        <button type="button" className="btn" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
