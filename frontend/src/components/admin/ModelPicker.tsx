/**
 * Candidate models: pick the ones to generate with, or register a new one (staff): a local
 * transformers model, or a model an OpenAI-compatible server serves, whose connection can be tested.
 */
import { useId, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { ErrorMessage } from "../ErrorMessage";
import { DecodingFields, decodingParams, describeParams, emptyDecoding, type DecodingDraft } from "./decoding";
import { FieldError, OtherErrors, TextField, errorsUnder, fieldErrorsOf } from "./fields";
import { adminKeys, modelsQuery, type CandidateModel } from "./adminQueries";
import { HTTP_FIELDS, HttpModelFields, emptyHttp, httpBody, httpProblems, type HttpDraft } from "./HttpModelFields";
import { TestConnection } from "./TestConnection";

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
  const http = model.backend === "openai";
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
          ) : http ? (
            <>
              OpenAI-compatible · <code>{model.base_url}</code> · {model.api_model} ({model.endpoint || "chat"})
              {model.api_key_env ? (
                <>
                  {" "}
                  · key from <code>${model.api_key_env}</code>
                </>
              ) : (
                " · no key"
              )}
              {model.revision ? ` · rev ${model.revision}` : ""} · {model.max_concurrency ?? 4} at a time · defaults:{" "}
              {describeParams(model.default_decoding)}
            </>
          ) : (
            <>
              {model.backend} · <code>{model.path || "(no path)"}</code>
              {model.revision ? ` · rev ${model.revision.slice(0, 12)}` : ""} · defaults:{" "}
              {describeParams(model.default_decoding)}
            </>
          )}
        </div>
        {http && <TestConnection modelId={model.id} modelName={model.name} />}
      </div>
    </li>
  );
}

function RegisterModel({ onCreated }: { onCreated: (m: CandidateModel) => void }) {
  const uid = useId();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [backend, setBackend] = useState<"transformers" | "openai">("transformers");
  const [path, setPath] = useState("");
  const [http, setHttp] = useState<HttpDraft>(emptyHttp);
  const [decoding, setDecoding] = useState<DecodingDraft>(emptyDecoding);

  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/models/", {
          body:
            backend === "openai"
              ? { name, backend, ...httpBody(http), default_decoding: decodingParams(decoding) }
              : { name, backend, path, default_decoding: decodingParams(decoding) },
        }),
      ),
    onSuccess: (model) => {
      void qc.invalidateQueries({ queryKey: adminKeys.models });
      onCreated(model);
      setName("");
      setPath("");
      setHttp(emptyHttp());
      setDecoding(emptyDecoding());
      setOpen(false);
    },
  });
  const serverErrors = fieldErrorsOf(create.error);
  const clientErrors = backend === "openai" ? httpProblems(http) : {};
  const errors = { ...clientErrors, ...serverErrors };
  // decoding_params names its fields "params.x"; the serializer names "default_decoding".
  const decodingErrors = errorsUnder(errors, "params.");
  const shown = new Set<string>(["name", "path", "backend", ...HTTP_FIELDS, ...Object.keys(decodingErrors).map((k) => `params.${k}`)]);
  const ready = !!name.trim() && Object.keys(clientErrors).length === 0 && (backend === "openai" ? !!http.base_url.trim() && !!http.api_model.trim() : !!path.trim());

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
      <fieldset className="adm-segmented" aria-describedby={errors.backend ? `${uid}-backend-error` : undefined}>
        <legend className="sr-only">Where the model runs</legend>
        <span>
          <input type="radio" id={`${uid}-be-tf`} name={`${uid}-backend`} checked={backend === "transformers"} onChange={() => setBackend("transformers")} />
          <label htmlFor={`${uid}-be-tf`}>Local model on the workers</label>
        </span>
        <span>
          <input type="radio" id={`${uid}-be-http`} name={`${uid}-backend`} checked={backend === "openai"} onChange={() => setBackend("openai")} />
          <label htmlFor={`${uid}-be-http`}>OpenAI-compatible server</label>
        </span>
      </fieldset>
      <FieldError id={`${uid}-backend`} errors={errors.backend} />
      <div className="adm-row">
        <TextField id={`${uid}-name`} label="Name" value={name} onChange={setName} errors={errors.name} required />
        {backend === "transformers" && (
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
        )}
      </div>
      {backend === "openai" && (
        <>
          <HttpModelFields idBase={`${uid}-http`} value={http} onChange={setHttp} errors={errors} />
          <p className="hint">Register it, then press “Test connection” next to it in the list above.</p>
        </>
      )}
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
        <button type="submit" className="btn btn-primary" disabled={create.isPending || !ready}>
          {create.isPending ? "Registering…" : "Register"}
        </button>
        <button type="button" className="btn" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
