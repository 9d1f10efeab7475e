/** The retrain button: pick a target and a backend (a document classifier for a choice
 * dimension, a span tagger for a spans dimension); refused (409) while one is in progress. */
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ErrorMessage } from "../../ErrorMessage";
import { classifierKeys, retrain, type Backend, type Target } from "./classifierQueries";

const BACKEND_LABELS: Record<Backend, string> = {
  tfidf_logreg: "TF-IDF + logistic regression",
  transformer: "Transformer (MiniLM, GPU worker)",
  span_lexicon: "Span tagger: word lexicon (fast)",
  span_transformer: "Span tagger: transformer (MiniLM, GPU worker)",
};
const BACKENDS_OF_KIND: Record<Target["kind"], Backend[]> = {
  document: ["tfidf_logreg", "transformer"],
  span_tagger: ["span_lexicon", "span_transformer"],
};

export function RetrainForm({ campaignId, targets, primary }: { campaignId: number; targets: Target[]; primary: string | null }) {
  const qc = useQueryClient();
  const [target, setTarget] = useState(primary ?? targets[0]?.name ?? "");
  const [backend, setBackend] = useState<Backend>("tfidf_logreg");
  const mutation = useMutation({
    mutationFn: () => retrain(campaignId, { target, backend }),
    onSuccess: () => qc.invalidateQueries({ queryKey: classifierKeys.all(campaignId) }),
  });
  const chosen = targets.find((t) => t.name === target);
  const busy = chosen?.in_progress ?? false;
  const allowed = BACKENDS_OF_KIND[chosen?.kind ?? "document"];
  const pickTarget = (name: string) => {
    setTarget(name);
    const kind = targets.find((t) => t.name === name)?.kind ?? "document";
    const first = BACKENDS_OF_KIND[kind][0];
    if (first && !BACKENDS_OF_KIND[kind].includes(backend)) setBackend(first);
  };
  return (
    <form
      className="adm-row adm-align-end"
      onSubmit={(e) => {
        e.preventDefault();
        mutation.mutate();
      }}
    >
      <div className="adm-field">
        <label htmlFor="clf-target">Target</label>
        <select id="clf-target" className="adm-input" value={target} onChange={(e) => pickTarget(e.target.value)}>
          {targets.map((t) => (
            <option key={t.name} value={t.name}>
              {t.name} ({t.kind === "span_tagger" ? "span tagger, " : ""}
              {t.labels} labels)
            </option>
          ))}
        </select>
      </div>
      <div className="adm-field">
        <label htmlFor="clf-backend">Backend</label>
        <select id="clf-backend" className="adm-input" value={backend} onChange={(e) => setBackend(e.target.value as Backend)}>
          {allowed.map((b) => (
            <option key={b} value={b}>
              {BACKEND_LABELS[b]}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" className="btn btn-primary" disabled={mutation.isPending || busy || !target}>
        {busy ? "Training…" : "Retrain"}
      </button>
      {mutation.error && <ErrorMessage error={mutation.error} />}
      {mutation.isSuccess && <span className="adm-ok">Run {mutation.data.id} queued.</span>}
    </form>
  );
}
