/**
 * Cleaning jobs (staff): start a job over a corpus with the classifiers the user administers,
 * try thresholds live on a scored sample, follow the shards, read the report (counts,
 * histograms, examples with the masked spans highlighted), download the outputs, and open or
 * read the human audit. Corpus texts are untrusted: they are rendered as text nodes only.
 */
import { useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Bar, BarChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, ApiError, unwrap, type Schemas } from "../../api/client";
import { ErrorMessage } from "../../components/ErrorMessage";
import { ProgressBar } from "../../components/ProgressBar";
import { segments, tally, type SampleDoc, type Span } from "../../components/admin/cleaning/policy";
import "./admin.css";

type Job = Schemas["CleaningJobDetail"];
interface DocClf {
  version: number;
  name: string;
  threshold: number;
}
interface Report {
  counts: Record<string, number>;
  removed_by: Record<string, number>;
  masked_spans_by_label: Record<string, number>;
  doc_hist: Record<string, number[]>;
  span_hist: number[];
  examples: Record<string, (SampleDoc & { decision: string })[]>;
  docs_per_s?: number | null;
}
interface Rate {
  estimate: number | null;
  low: number;
  high: number;
  n: number;
}

const ACTIVE = new Set(["previewing", "queued", "running"]);
const pct = (x: number | null | undefined) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`);

export default function CleaningPage() {
  const { id } = useParams();
  const jobId = id === undefined ? null : Number(id);
  if (jobId !== null && (!Number.isInteger(jobId) || jobId <= 0)) {
    return <p className="alert alert-error">No such cleaning job.</p>;
  }
  return (
    <section className="adm-page adm-dashboard">
      <header className="adm-dash-head">
        <h1 className="adm-title">Corpus cleaning</h1>
        {jobId !== null && (
          <Link className="btn adm-push" to="/cleaning">
            All jobs
          </Link>
        )}
      </header>
      {jobId === null ? (
        <>
          <NewJob />
          <JobList />
        </>
      ) : (
        <JobView key={jobId} jobId={jobId} />
      )}
    </section>
  );
}

function JobList() {
  const jobs = useQuery({
    queryKey: ["cleaning", "jobs"],
    queryFn: () => unwrap(api.GET("/api/cleaning/jobs/")),
    refetchInterval: (q) => (q.state.data?.some((j) => ACTIVE.has(j.status ?? "")) ? 3000 : false),
  });
  return (
    <section className="panel" aria-labelledby="cl-jobs">
      <h2 id="cl-jobs">Jobs</h2>
      {jobs.error && <ErrorMessage error={jobs.error} />}
      {jobs.data?.length === 0 && <p className="muted">No cleaning jobs yet.</p>}
      {jobs.data && jobs.data.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Job</th>
              <th>Status</th>
              <th>Documents</th>
              <th>Progress</th>
            </tr>
          </thead>
          <tbody>
            {jobs.data.map((j) => (
              <tr key={j.id}>
                <td>
                  <Link to={`/cleaning/${j.id}`}>
                    #{j.id} {j.name}
                  </Link>
                </td>
                <td>{j.status}</td>
                <td>{j.total_docs ?? 0}</td>
                <td>
                  <ProgressBar value={j.done_docs} max={j.total_docs ?? 0} label={`Progress of job ${j.id}`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function NewJob() {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const versions = useQuery({
    queryKey: ["cleaning", "classifiers"],
    queryFn: () => unwrap(api.GET("/api/cleaning/classifiers/")),
  });
  const [name, setName] = useState("");
  const [path, setPath] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [textField, setTextField] = useState("text");
  const [idField, setIdField] = useState("id");
  const [docs, setDocs] = useState<Record<number, boolean>>({});
  const [tagger, setTagger] = useState<number | "">("");
  const [maskMode, setMaskMode] = useState<"replace" | "delete">("replace");
  const [precision, setPrecision] = useState<"fp32" | "int8">("fp32");
  const create = useMutation({
    mutationFn: async () => {
      const document_classifiers = Object.entries(docs)
        .filter(([, on]) => on)
        .map(([v]) => ({ version: Number(v), threshold: 0.5 }));
      const body = {
        name,
        text_field: textField,
        id_field: idField,
        document_classifiers,
        tagger: tagger === "" ? null : { version: tagger, threshold: 0.5 },
        mask_mode: maskMode,
        precision,
        start: false,
        ...(file ? {} : { path }),
      };
      const result = await api.POST("/api/cleaning/jobs/", {
        body: body as Schemas["CleaningJobCreateRequest"],
        bodySerializer: file
          ? () => {
              const form = new FormData();
              for (const [k, v] of Object.entries(body)) {
                form.append(k, typeof v === "string" ? v : JSON.stringify(v));
              }
              form.append("file", file, file.name);
              return form;
            }
          : undefined,
      });
      if (!result.data) throw ApiError.fromBody(result.response.status, result.error);
      return result.data;
    },
    onSuccess: (job) => {
      void qc.invalidateQueries({ queryKey: ["cleaning", "jobs"] });
      navigate(`/cleaning/${job.id}`);
    },
  });
  const fieldErrors = create.error instanceof ApiError ? create.error.fieldErrors : {};
  const list = versions.data ?? [];
  return (
    <section className="panel" aria-labelledby="cl-new">
      <h2 id="cl-new">New cleaning job</h2>
      <form
        className="adm-form"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Corpus path (under the workers' cleaning root)
          <input value={path} onChange={(e) => setPath(e.target.value)} disabled={file !== null} placeholder="corpus.jsonl.gz" />
        </label>
        <label>
          or upload (JSONL, .jsonl.gz, Parquet)
          <input type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        <div className="adm-row">
          <label>
            Text field <input value={textField} onChange={(e) => setTextField(e.target.value)} />
          </label>
          <label>
            Id field <input value={idField} onChange={(e) => setIdField(e.target.value)} />
          </label>
        </div>
        <fieldset>
          <legend>Remove documents with</legend>
          {versions.error && <ErrorMessage error={versions.error} />}
          {list
            .filter((v) => v.kind === "document")
            .map((v) => (
              <label key={v.id}>
                <input
                  type="checkbox"
                  checked={docs[v.id] ?? false}
                  onChange={(e) => setDocs({ ...docs, [v.id]: e.target.checked })}
                />{" "}
                {v.name} ({v.target}, {v.backend}) · {v.campaign_name}
              </label>
            ))}
        </fieldset>
        <label>
          Mask spans with
          <select value={tagger} onChange={(e) => setTagger(e.target.value === "" ? "" : Number(e.target.value))}>
            <option value="">no tagger</option>
            {list
              .filter((v) => v.kind === "span_tagger")
              .map((v) => (
                <option key={v.id} value={v.id}>
                  {v.name} ({v.backend}) · {v.campaign_name}
                </option>
              ))}
          </select>
        </label>
        <label>
          Masked spans are
          <select value={maskMode} onChange={(e) => setMaskMode(e.target.value as "replace" | "delete")}>
            <option value="replace">replaced by [REDACTED:label]</option>
            <option value="delete">deleted</option>
          </select>
        </label>
        <label>
          Transformer classifiers on CPU workers score in
          <select value={precision} onChange={(e) => setPrecision(e.target.value as "fp32" | "int8")}>
            <option value="fp32">full precision (fp32)</option>
            <option value="int8">int8 (about 2.5x faster; probabilities a few thousandths off)</option>
          </select>
        </label>
        {create.error && (
          <ErrorMessage error={create.error}>
            <ul>
              {Object.entries(fieldErrors).map(([f, reasons]) => (
                <li key={f}>
                  {f}: {reasons.join("; ")}
                </li>
              ))}
            </ul>
          </ErrorMessage>
        )}
        <button className="btn btn-primary" type="submit" disabled={create.isPending}>
          Score a sample and preview
        </button>
      </form>
    </section>
  );
}

function JobView({ jobId }: { jobId: number }) {
  const job = useQuery({
    queryKey: ["cleaning", "job", jobId],
    queryFn: () => unwrap(api.GET("/api/cleaning/jobs/{id}/", { params: { path: { id: jobId } } })),
    refetchInterval: (q) => (ACTIVE.has(q.state.data?.status ?? "") ? 2000 : false),
  });
  if (job.isPending) return <p className="muted">Loading job…</p>;
  if (job.error) return <ErrorMessage error={job.error} />;
  const j = job.data;
  return (
    <>
      <section className="panel" aria-labelledby="cl-status">
        <h2 id="cl-status">
          #{j.id} {j.name}: {j.status}
        </h2>
        {j.error && <p className="alert alert-error">{j.error}</p>}
        <p className="muted">
          {j.input_format} · {j.total_docs ?? 0} documents · queue {j.queue}
        </p>
        {j.status === "previewing" && <p className="muted">Scoring a sample of the corpus…</p>}
      </section>
      {(j.status === "draft" || j.status === "previewing") && <Preview job={j} />}
      {j.shards.length > 0 && <Shards job={j} />}
      {Boolean(j.report) && <ReportView job={j} report={j.report as Report} />}
      {j.status === "succeeded" && <Downloads jobId={j.id} />}
      {j.status === "succeeded" && <Audit job={j} />}
    </>
  );
}

function Preview({ job }: { job: Job }) {
  const qc = useQueryClient();
  const docClfs = (job.document_classifiers ?? []) as DocClf[];
  const tagger = job.tagger as { threshold: number } | null;
  const [thresholds, setThresholds] = useState<Record<string, number>>(
    Object.fromEntries(docClfs.map((d) => [d.name, d.threshold])),
  );
  const [spanT, setSpanT] = useState<number | null>(tagger ? tagger.threshold : null);
  const sample = (job.preview ?? []) as SampleDoc[];
  const counts = useMemo(() => tally(sample, thresholds, spanT), [sample, thresholds, spanT]);
  const start = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/cleaning/jobs/{id}/start/", {
          params: { path: { id: job.id } },
          body: { thresholds: { ...thresholds, ...(spanT !== null ? { tagger: spanT } : {}) } },
        }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["cleaning", "job", job.id] }),
  });
  return (
    <section className="panel" aria-labelledby="cl-preview">
      <h2 id="cl-preview">Thresholds</h2>
      {docClfs.map((d) => (
        <Slider
          key={d.name}
          label={`Remove when P(${d.name}) ≥`}
          value={thresholds[d.name] ?? 0.5}
          onChange={(v) => setThresholds({ ...thresholds, [d.name]: v })}
        />
      ))}
      {spanT !== null && <Slider label="Mask spans scored ≥" value={spanT} onChange={setSpanT} />}
      <p data-testid="preview-counts">
        On {sample.length} sample documents: {counts.remove} removed, {counts.mask} masked, {counts.keep} kept.
      </p>
      {start.error && <ErrorMessage error={start.error} />}
      <button className="btn btn-primary" onClick={() => start.mutate()} disabled={start.isPending}>
        Start cleaning
      </button>
      <ul className="adm-stack">
        {sample.slice(0, 20).map((d) => {
          const removed = Object.entries(d.scores).some(([n, p]) => p >= (thresholds[n] ?? 2));
          const spans = removed || spanT === null ? [] : d.spans.filter((s) => s.score >= spanT);
          return (
            <li key={d.id} className={removed ? "cl-removed" : undefined}>
              <strong>{removed ? "removed" : spans.length ? "masked" : "kept"}</strong> <Highlighted text={d.text} spans={spans} />
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function Slider({ label, value, onChange }: { label: string; value: number; onChange: (v: number) => void }) {
  return (
    <label className="adm-row">
      {label} {value.toFixed(2)}
      <input type="range" min={0} max={1} step={0.01} value={value} aria-label={label} onChange={(e) => onChange(Number(e.target.value))} />
    </label>
  );
}

/** Text nodes only: the spans become <mark> elements around plain text. */
function Highlighted({ text, spans }: { text: string; spans: Span[] }) {
  return (
    <span className="cl-text">
      {segments(text, spans).map((p, i) =>
        p.span ? (
          <mark key={i} title={`${p.span.label} ${p.span.score.toFixed(2)}`} data-label={p.span.label}>
            {p.text}
          </mark>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </span>
  );
}

function Shards({ job }: { job: Job }) {
  const done = job.shards.reduce((a, s) => a + (s.done ?? 0), 0);
  return (
    <section className="panel" aria-labelledby="cl-shards">
      <h2 id="cl-shards">
        Shards: {job.shards_done ?? 0} of {job.shards_total ?? 0} done
      </h2>
      <ProgressBar value={done} max={job.total_docs ?? 0} label="Documents cleaned" />
      <table className="table">
        <tbody>
          {job.shards.map((s) => (
            <tr key={s.id}>
              <td>#{s.index}</td>
              <td>{s.status}</td>
              <td style={{ width: "50%" }}>
                <ProgressBar value={s.done ?? 0} max={s.total} label={`Shard ${s.index}`} />
              </td>
              <td>
                {s.done ?? 0}/{s.total}
              </td>
              <td className="muted">
                {s.worker} {(s.attempts ?? 0) > 1 ? `(attempt ${s.attempts})` : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Histogram({ title, bins }: { title: string; bins: number[] }) {
  const data = bins.map((n, i) => ({ bin: (i / bins.length).toFixed(2), n }));
  return (
    <figure>
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={160}>
        <BarChart data={data}>
          <XAxis dataKey="bin" />
          <YAxis allowDecimals={false} />
          <Tooltip />
          <Bar dataKey="n" fill="#6b7fd7" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

function ReportView({ job, report }: { job: Job; report: Report }) {
  return (
    <section className="panel" aria-labelledby="cl-report">
      <h2 id="cl-report">Report</h2>
      <table className="table" data-testid="report-counts">
        <tbody>
          {Object.entries(report.counts).map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
          {Object.entries(report.masked_spans_by_label).map(([k, v]) => (
            <tr key={`m-${k}`}>
              <th>masked spans: {k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {report.docs_per_s ? <p className="muted">{report.docs_per_s} documents/s</p> : null}
      {Object.entries(report.doc_hist).map(([name, bins]) => (
        <Histogram key={name} title={`P(positive) of ${name}`} bins={bins} />
      ))}
      {job.tagger ? <Histogram title="Span scores" bins={report.span_hist} /> : null}
      <h3>Examples</h3>
      {Object.entries(report.examples).map(([decision, list]) => (
        <div key={decision}>
          <h4>{decision}</h4>
          <ul className="adm-stack">
            {list.map((ex) => (
              <li key={ex.id}>
                <code>{ex.id}</code> <Highlighted text={ex.text} spans={ex.spans.filter((s) => s.masked)} />
              </li>
            ))}
          </ul>
        </div>
      ))}
    </section>
  );
}

function Downloads({ jobId }: { jobId: number }) {
  const files = useQuery({
    queryKey: ["cleaning", "files", jobId],
    queryFn: () => unwrap(api.GET("/api/cleaning/jobs/{id}/files/", { params: { path: { id: jobId } } })),
  });
  return (
    <section className="panel" aria-labelledby="cl-files">
      <h2 id="cl-files">Downloads</h2>
      {files.error && <ErrorMessage error={files.error} />}
      <ul>
        {files.data?.map((f) => (
          <li key={f.path}>
            <a href={`/api/cleaning/jobs/${jobId}/files/?path=${encodeURIComponent(f.path)}`}>{f.path}</a>{" "}
            <span className="muted">({f.bytes} bytes)</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function RateRow({ label, rate }: { label: string; rate: Rate }) {
  return (
    <tr>
      <th>{label}</th>
      <td>{pct(rate.estimate)}</td>
      <td>
        {pct(rate.low)} – {pct(rate.high)}
      </td>
      <td>{rate.n}</td>
    </tr>
  );
}

function Audit({ job }: { job: Job }) {
  const qc = useQueryClient();
  const has = job.audit_campaign_id !== null && job.audit_campaign_id !== undefined;
  const results = useQuery({
    queryKey: ["cleaning", "audit", job.id],
    queryFn: () => unwrap(api.GET("/api/cleaning/jobs/{id}/audit/", { params: { path: { id: job.id } } })),
    enabled: has,
  });
  const open = useMutation({
    mutationFn: () => unwrap(api.POST("/api/cleaning/jobs/{id}/audit/", {
          params: { path: { id: job.id } },
          body: { removed: 50, masked: 50, kept: 100, overlap: 3, context_chars: 300, seed: 0 },
        })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["cleaning", "job", job.id] }),
  });
  const r = results.data;
  return (
    <section className="panel" aria-labelledby="cl-audit">
      <h2 id="cl-audit">Human audit</h2>
      {!has && (
        <>
          <p className="muted">
            Annotators label a stratified random sample of removed documents, masked spans in context and kept documents,
            without being told the decision.
          </p>
          {open.error && <ErrorMessage error={open.error} />}
          <button className="btn" onClick={() => open.mutate()} disabled={open.isPending}>
            Open an audit campaign
          </button>
        </>
      )}
      {results.error && <ErrorMessage error={results.error} />}
      {r && (
        <>
          <p>
            <Link to={`/campaigns/${r.campaign_id}`}>Audit campaign</Link>
          </p>
          <table className="table">
            <thead>
              <tr>
                <th />
                <th>Estimate</th>
                <th>95% interval</th>
                <th>Labeled</th>
              </tr>
            </thead>
            <tbody>
              <RateRow label="Removal precision" rate={r.removal_precision as Rate} />
              <RateRow label="Masking precision" rate={r.masking_precision as Rate} />
              <RateRow label="Residual harm rate (kept)" rate={r.residual_harm_rate as Rate} />
            </tbody>
          </table>
          <h3>At other thresholds</h3>
          <table className="table">
            <thead>
              <tr>
                <th>Threshold</th>
                <th>Removal precision</th>
                <th>Residual harm rate</th>
              </tr>
            </thead>
            <tbody>
              {(r.sweep as { threshold: number; removal_precision: Rate; residual_harm_rate: Rate }[]).map((p) => (
                <tr key={p.threshold}>
                  <td>{p.threshold.toFixed(1)}</td>
                  <td>
                    {pct(p.removal_precision.estimate)} ({pct(p.removal_precision.low)}–{pct(p.removal_precision.high)})
                  </td>
                  <td>
                    {pct(p.residual_harm_rate.estimate)} ({pct(p.residual_harm_rate.low)}–{pct(p.residual_harm_rate.high)})
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted">{r.method}</p>
        </>
      )}
    </section>
  );
}
