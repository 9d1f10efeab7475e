/** One training run: the evaluation slice's figures, the promotion decision, the snapshot and
 * the two pictures (reliability diagram, confusion matrix). */
import { useQuery } from "@tanstack/react-query";
import { ErrorMessage } from "../../ErrorMessage";
import { ConfusionMatrix } from "./ConfusionMatrix";
import { ReliabilityDiagram } from "./ReliabilityDiagram";
import { runQuery, type Metrics } from "./classifierQueries";

export function fmt(v: number | null | undefined, digits = 3) {
  return v === null || v === undefined ? "–" : v.toFixed(digits);
}

function SpanMetricsRow({ name, m }: { name: string; m: Metrics }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td>{fmt(m.char_f1)}</td>
      <td>{fmt(m.char_precision)}</td>
      <td>{fmt(m.char_recall)}</td>
      <td>
        {m.texts_with_predicted_spans ?? "–"} / {m.texts_with_gold_spans ?? "–"}
      </td>
      <td>{m.n}</td>
    </tr>
  );
}

/** A span tagger's figures: SemEval-2021 Task 5 character F1 and the span scores' spread. */
function SpanMetrics({ m, baseline }: { m: Metrics; baseline: Metrics | null }) {
  const bins = m.score_histogram ?? [];
  return (
    <>
      <table className="table">
        <caption className="muted">Character F1 per text (1 when both are empty), averaged over the evaluation slice</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Char F1</th>
            <th scope="col">Char precision</th>
            <th scope="col">Char recall</th>
            <th scope="col">Texts with spans (predicted / consensus)</th>
            <th scope="col">n</th>
          </tr>
        </thead>
        <tbody>
          <SpanMetricsRow name="this run" m={m} />
          {baseline && <SpanMetricsRow name="active version before" m={baseline} />}
        </tbody>
      </table>
      <table className="table clf-histogram">
        <caption className="muted">Scores of the {m.n_predicted_spans ?? 0} predicted spans</caption>
        <thead>
          <tr>
            {bins.map((b) => (
              <th scope="col" key={b.lower}>
                {b.lower.toFixed(1)}–{b.upper.toFixed(1)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            {bins.map((b) => (
              <td key={b.lower}>{b.count}</td>
            ))}
          </tr>
        </tbody>
      </table>
    </>
  );
}

function MetricsRow({ name, m }: { name: string; m: Metrics }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td>{fmt(m.accuracy)}</td>
      <td>{fmt(m.macro_f1)}</td>
      <td>{fmt(m.auroc)}</td>
      <td>{fmt(m.auprc)}</td>
      <td>{fmt(m.ece)}</td>
      <td>{m.n}</td>
    </tr>
  );
}

export function RunDetail({ campaignId, runId }: { campaignId: number; runId: number }) {
  const run = useQuery(runQuery(campaignId, runId));
  if (run.isPending) return <p className="muted">Loading run {runId}…</p>;
  if (run.error) return <ErrorMessage error={run.error} />;
  const r = run.data;
  return (
    <section className="clf-run" aria-label={`Training run ${r.id}`}>
      <h3>
        Run {r.id}: {r.backend} on {r.target}
        {r.kind === "span_tagger" && " (span tagger)"}
      </h3>
      {r.error && <pre className="adm-error-text">{r.error}</pre>}
      {r.version && <p className={r.version.promoted ? "adm-ok" : "adm-warn"}>{r.version.decision}</p>}
      {r.metrics && r.kind === "span_tagger" && <SpanMetrics m={r.metrics} baseline={r.baseline_metrics} />}
      {r.metrics && r.kind !== "span_tagger" && (
        <>
          <table className="table">
            <caption className="muted">On the evaluation slice ({r.n_eval} items, never trained on)</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Accuracy</th>
                <th scope="col">Macro-F1</th>
                <th scope="col">AUROC</th>
                <th scope="col">AUPRC</th>
                <th scope="col">ECE</th>
                <th scope="col">n</th>
              </tr>
            </thead>
            <tbody>
              <MetricsRow name="this run" m={r.metrics} />
              {r.baseline_metrics && <MetricsRow name="active version before" m={r.baseline_metrics} />}
            </tbody>
          </table>
          <div className="clf-figures">
            <ReliabilityDiagram bins={r.metrics.reliability ?? []} ece={r.metrics.ece ?? 0} title={`Reliability of run ${r.id}`} />
            <ConfusionMatrix classes={r.metrics.classes} matrix={r.metrics.confusion_matrix ?? []} title={`Confusion matrix of run ${r.id}`} />
          </div>
        </>
      )}
      <dl className="adm-summary">
        <dt>Snapshot</dt>
        <dd>
          {r.n_train} train · {r.n_calibration} calibration · {r.n_eval} evaluation · labels hash{" "}
          <code>{r.labels_sha256.slice(0, 12) || "–"}</code>
        </dd>
        <dt>Device</dt>
        <dd>{r.device || "–"}</dd>
        <dt>Seed</dt>
        <dd>{r.seed}</dd>
        <dt>Hyperparameters</dt>
        <dd>
          <code>{JSON.stringify(r.hyperparameters)}</code>
        </dd>
        <dt>Libraries</dt>
        <dd>
          <code>{JSON.stringify(r.library_versions)}</code>
        </dd>
      </dl>
    </section>
  );
}
