/**
 * The fields of an OpenAI-compatible model (generation/backends/openai_http.py): the server's base
 * URL and model name, chat or completions, the NAME of the environment variable that holds the
 * API key (the key itself is never typed here, stored or sent), and the client's limits.
 */
import { FieldError, TextField, describedBy, type FieldErrors } from "./fields";

export interface HttpDraft {
  base_url: string;
  api_model: string;
  endpoint: "chat" | "completions";
  api_key_env: string;
  revision: string;
  max_concurrency: string;
  requests_per_minute: string;
  tokens_per_minute: string;
  timeout_s: string;
  max_retries: string;
}

export const emptyHttp = (): HttpDraft => ({
  base_url: "",
  api_model: "",
  endpoint: "chat",
  api_key_env: "",
  revision: "",
  max_concurrency: "",
  requests_per_minute: "",
  tokens_per_minute: "",
  timeout_s: "",
  max_retries: "",
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

/** Client-side checks whose fix is plain; the server checks everything again. */
export function httpProblems(d: HttpDraft): FieldErrors {
  const errors: FieldErrors = {};
  if (d.base_url.trim() && !/^https?:\/\/[^/?#\s]+/i.test(d.base_url.trim())) {
    errors.base_url = ["An http:// or https:// URL with a host, e.g. http://gpu-host:8000/v1"];
  }
  const env = d.api_key_env.trim();
  if (env && !ENV_NAME.test(env)) {
    errors.api_key_env = ["The NAME of an environment variable (letters, digits, _), not the key itself"];
  } else if (/^(sk-|hf_|gsk_|xai-)/.test(env) || env.length > 40) {
    errors.api_key_env = ["This looks like a key. Type the NAME of the variable that holds it, e.g. OPENAI_API_KEY"];
  }
  return errors;
}

const num = (v: string) => (v.trim() === "" ? undefined : Number(v));

/** The request body's HTTP fields: blank numbers fall back to the server's defaults. */
export function httpBody(d: HttpDraft) {
  return {
    base_url: d.base_url.trim(),
    api_model: d.api_model.trim(),
    endpoint: d.endpoint,
    api_key_env: d.api_key_env.trim(),
    revision: d.revision.trim(),
    max_concurrency: num(d.max_concurrency),
    requests_per_minute: d.requests_per_minute.trim() === "" ? null : Number(d.requests_per_minute),
    tokens_per_minute: d.tokens_per_minute.trim() === "" ? null : Number(d.tokens_per_minute),
    timeout_s: num(d.timeout_s),
    max_retries: num(d.max_retries),
  };
}

export const HTTP_FIELDS = [
  "base_url",
  "api_model",
  "endpoint",
  "api_key_env",
  "revision",
  "max_concurrency",
  "requests_per_minute",
  "tokens_per_minute",
  "timeout_s",
  "max_retries",
] as const;

interface Props {
  idBase: string;
  value: HttpDraft;
  onChange: (next: HttpDraft) => void;
  errors: FieldErrors;
}

export function HttpModelFields({ idBase, value, onChange, errors }: Props) {
  const set = (patch: Partial<HttpDraft>) => onChange({ ...value, ...patch });
  return (
    <div className="adm-stack">
      <div className="adm-row">
        <TextField
          id={`${idBase}-url`}
          label="Base URL"
          value={value.base_url}
          onChange={(base_url) => set({ base_url })}
          errors={errors.base_url}
          placeholder="http://gpu-host:8000/v1"
          hint="The server's OpenAI-compatible root (vLLM, TGI, llama.cpp, Ollama or a hosted API)."
          className="adm-grow"
          required
        />
        <TextField
          id={`${idBase}-api-model`}
          label="Model name on the server"
          value={value.api_model}
          onChange={(api_model) => set({ api_model })}
          errors={errors.api_model}
          placeholder="HuggingFaceTB/SmolLM2-135M-Instruct"
          className="adm-grow"
          required
        />
      </div>
      <div className="adm-row">
        <div className="adm-field">
          <label htmlFor={`${idBase}-endpoint`}>Endpoint</label>
          <select
            {...describedBy(`${idBase}-endpoint`, errors.endpoint)}
            className="adm-input adm-input-auto"
            value={value.endpoint}
            onChange={(e) => set({ endpoint: e.target.value as HttpDraft["endpoint"] })}
          >
            <option value="chat">Chat (/chat/completions)</option>
            <option value="completions">Completions (/completions, base models)</option>
          </select>
          <FieldError id={`${idBase}-endpoint`} errors={errors.endpoint} />
        </div>
        <TextField
          id={`${idBase}-key-env`}
          label="API key: environment variable NAME"
          value={value.api_key_env}
          onChange={(api_key_env) => set({ api_key_env })}
          errors={errors.api_key_env}
          placeholder="OPENAI_API_KEY"
          autoComplete="off"
          spellCheck={false}
          hint="Never the key itself: the workers (and this web server, for “Test connection”) read the key from this variable. Blank: no key."
          className="adm-grow"
        />
        <TextField
          id={`${idBase}-revision`}
          label="Revision you declare"
          value={value.revision}
          onChange={(revision) => set({ revision })}
          errors={errors.revision}
          hint="Servers do not hash their weights: recorded with every output."
          className="adm-grow"
        />
      </div>
      <fieldset className="adm-subfieldset">
        <legend>Limits (blank: the defaults)</legend>
        <div className="adm-row">
          <TextField id={`${idBase}-conc`} label="Concurrent requests" type="number" min={1} max={256} value={value.max_concurrency} onChange={(max_concurrency) => set({ max_concurrency })} errors={errors.max_concurrency} placeholder="4" />
          <TextField id={`${idBase}-rpm`} label="Requests / minute" type="number" min={1} value={value.requests_per_minute} onChange={(requests_per_minute) => set({ requests_per_minute })} errors={errors.requests_per_minute} placeholder="no limit" />
          <TextField id={`${idBase}-tpm`} label="Tokens / minute" type="number" min={1} value={value.tokens_per_minute} onChange={(tokens_per_minute) => set({ tokens_per_minute })} errors={errors.tokens_per_minute} placeholder="no limit" />
          <TextField id={`${idBase}-timeout`} label="Timeout (s)" type="number" min={0.1} max={3600} step="any" value={value.timeout_s} onChange={(timeout_s) => set({ timeout_s })} errors={errors.timeout_s} placeholder="60" />
          <TextField id={`${idBase}-retries`} label="Retries" type="number" min={0} max={20} value={value.max_retries} onChange={(max_retries) => set({ max_retries })} errors={errors.max_retries} placeholder="5" />
        </div>
        <p className="hint">Retries back off exponentially with jitter on 429, 5xx and timeouts, honoring Retry-After.</p>
      </fieldset>
    </div>
  );
}
