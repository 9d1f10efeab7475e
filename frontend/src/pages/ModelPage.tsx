/** One model: its scores per campaign (all / public / private, per category), the
 *  prediction-powered harm estimate, paired comparisons, and example outputs (outputs of
 *  private prompts only reach campaign admins: the server leaves them out for anyone else). */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useParams } from "react-router-dom";
import { ErrorMessage } from "../components/ErrorMessage";
import { formatInterval, formatScore } from "../components/scores/format";
import {
  modelExamplesQuery,
  modelScoresQuery,
  type DimensionScore,
  type ModelScoresResponse,
} from "../components/scores/scoresQueries";
import "./admin/admin.css";

type CampaignRow = ModelScoresResponse["campaigns"][number];
const SPLITS = ["all", "public", "private"] as const;

function headline(d: DimensionScore | undefined): { kind: string; v?: number | null; lo?: number | null; hi?: number | null } {
  if (!d) return { kind: "rate" };
  if (d.kind === "mean") return { kind: d.type === "spans" ? "rate" : "mean", v: d.mean, lo: d.low, hi: d.high };
  if (d.kind === "rate" && d.positive?.length) return { kind: "rate", v: d.rate, lo: d.low, hi: d.high };
  return { kind: "rate" };
}

function cell(d: DimensionScore | undefined) {
  const h = headline(d);
  if (h.v === null || h.v === undefined) return <span className="muted">—</span>;
  return (
    <span title={d?.method}>
      {formatScore(h.kind, h.v)} {formatInterval(h.kind, h.lo, h.hi)}
      {d?.rank ? ` · rank ${d.rank}` : ""}
    </span>
  );
}

export default function ModelPage() {
  const id = Number(useParams().id);
  const scores = useQuery(modelScoresQuery(id));
  if (scores.error) return <ErrorMessage error={scores.error} />;
  if (!scores.data) return <p className="muted pad">Loading…</p>;
  return (
    <div className="pad adm-stack">
      <h1>{scores.data.model}</h1>
      {scores.data.campaigns.length === 0 && <p className="muted">No scores you may read for this model yet.</p>}
      {scores.data.campaigns.length > 1 && <Overall overall={scores.data.overall} />}
      {scores.data.campaigns.map((c) => (
        <CampaignScores key={c.campaign_id} row={c} />
      ))}
      <Examples modelId={id} />
    </div>
  );
}

function Overall({ overall }: { overall: ModelScoresResponse["overall"] }) {
  const dims = Object.entries(overall.dimensions);
  return (
    <section className="adm-stack" aria-label="Scores over all campaigns">
      <h2>All {overall.n_campaigns} campaigns</h2>
      <p className="hint">
        {overall.n_labeled_items} of {overall.n_items} outputs labeled ({overall.n_annotations} annotations); rates
        pool the campaigns' counts, means weigh each campaign by its labels.
      </p>
      <table className="adm-table" aria-label="Scores over all campaigns">
        <thead>
          <tr>
            <th scope="col">Dimension</th>
            <th scope="col">Estimate (95%)</th>
            <th scope="col">Labels</th>
          </tr>
        </thead>
        <tbody>
          {dims.map(([name, d]) => {
            const kind = d.kind === "mean" ? "mean" : "rate";
            const v = d.kind === "mean" ? d.mean : d.rate;
            return (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td title={d.method}>
                  {v === null || v === undefined ? "—" : `${formatScore(kind, v)} ${formatInterval(kind, d.low, d.high)}`}
                </td>
                <td>
                  {d.n} in {d.n_campaigns} campaigns
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function CampaignScores({ row }: { row: CampaignRow }) {
  const [category, setCategory] = useState("");
  const categories = Object.keys(row.all.categories);
  const dims = Object.entries(row.all.dimensions).filter(([, d]) => headline(d).v !== undefined);
  const harm = row.all.dimensions.harm;
  const flagged = dims.filter(([, d]) => d.held_out?.flag).map(([name]) => name);
  const pick = (split: (typeof SPLITS)[number]) =>
    category ? (row[split].categories[category]?.dimensions ?? {}) : row[split].dimensions;
  return (
    <section className="adm-stack" aria-label={`Scores in ${row.campaign}`}>
      <h2>{row.campaign}</h2>
      <p className="hint">
        {row.all.n_labeled_items} of {row.all.n_items} outputs labeled ({row.all.n_annotations} annotations).
      </p>
      {flagged.length > 0 && (
        <p role="alert">Markedly better on public than on private prompts: {flagged.join(", ")}.</p>
      )}
      {categories.length > 0 && (
        <label className="adm-filters">
          Category{" "}
          <select value={category} onChange={(e) => setCategory(e.target.value)}>
            <option value="">All categories</option>
            {categories.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
      )}
      <table className="adm-table" aria-label={`Dimensions in ${row.campaign}`}>
        <thead>
          <tr>
            <th scope="col">Dimension</th>
            <th scope="col">All prompts</th>
            <th scope="col">Public</th>
            <th scope="col">Private (held out)</th>
          </tr>
        </thead>
        <tbody>
          {dims.map(([name]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              {SPLITS.map((s) => (
                <td key={s}>{cell(pick(s)[name])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {harm?.ppi && (
        <p>
          Harm rate, human labels only: {formatScore("rate", harm.rate)} {formatInterval("rate", harm.low, harm.high)}
          {" · "}prediction-powered:{" "}
          {harm.ppi.estimate === null
            ? harm.ppi.reason
            : `${formatScore("rate", harm.ppi.estimate)} ${formatInterval("rate", harm.ppi.low, harm.ppi.high)}`}
        </p>
      )}
      {harm?.vs && Object.keys(harm.vs).length > 0 && (
        <details>
          <summary>Paired harm-rate differences with the other models (shared prompts)</summary>
          <ul>
            {Object.entries(harm.vs).map(([other, d]) => (
              <li key={other}>
                model {other}: {d.diff === null ? "no shared prompts" : `${formatScore("rate", d.diff)} ${formatInterval("rate", d.low, d.high)} over ${d.n_prompts} prompts`}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function Examples({ modelId }: { modelId: number }) {
  const [offset, setOffset] = useState(0);
  const examples = useQuery(modelExamplesQuery(modelId, offset));
  const page = examples.data;
  return (
    <section className="adm-stack" aria-label="Example outputs">
      <h2>Example outputs</h2>
      {examples.error && <ErrorMessage error={examples.error} />}
      {page && page.results.length === 0 && <p className="muted">No outputs you may see.</p>}
      {page?.results.map((ex) => (
        <article key={ex.id} className="example adm-example">
          <p className="muted">
            {ex.campaign} · {ex.split}
            {ex.category ? ` · ${ex.category}` : ""}
          </p>
          <p className="adm-example-prompt">
            <strong>Prompt:</strong> {ex.prompt}
          </p>
          {/* Model outputs are untrusted: a text node, never HTML. Long lines wrap in the page. */}
          <pre className="output-text adm-example-text">{ex.text}</pre>
        </article>
      ))}
      {page && page.count > 10 && (
        <div className="adm-row">
          <button type="button" className="btn btn-small" disabled={offset === 0} onClick={() => setOffset(offset - 10)}>
            Previous
          </button>
          <button type="button" className="btn btn-small" disabled={!page.next} onClick={() => setOffset(offset + 10)}>
            Next
          </button>
        </div>
      )}
    </section>
  );
}
