/** "Test connection" for an OpenAI-compatible model: one tiny request, its answer or its error. */
import { useMutation } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { ErrorMessage } from "../ErrorMessage";

export function testConnection(id: number) {
  return unwrap(api.POST("/api/models/{id}/test-connection/", { params: { path: { id } } }));
}

export function TestConnection({ modelId, modelName }: { modelId: number; modelName: string }) {
  const check = useMutation({ mutationFn: () => testConnection(modelId) });
  const r = check.data;
  return (
    <div className="adm-row adm-align-center adm-test-conn">
      <button type="button" className="btn btn-small" disabled={check.isPending} onClick={() => check.mutate()} aria-label={`Test connection to ${modelName}`}>
        {check.isPending ? "Testing…" : "Test connection"}
      </button>
      <div role="status" aria-live="polite" data-testid={`conn-${modelId}`}>
        {r && r.ok && (
          <span className="adm-ok">
            Connected: {r.detail}
            {r.server_model ? ` · server model “${r.server_model}”` : ""}
            {r.latency_ms !== null ? ` · ${Math.round(r.latency_ms)} ms` : ""}
          </span>
        )}
        {r && !r.ok && <span className="adm-error-text">Connection failed: {r.detail}</span>}
      </div>
      {check.error && <ErrorMessage error={check.error} />}
    </div>
  );
}
