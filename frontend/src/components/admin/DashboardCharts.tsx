/** Labeling progress and hourly throughput: the only recharts users, loaded lazily by the dashboard. */
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ProgressBar } from "../ProgressBar";
import type { Dashboard, Progress } from "./adminQueries";

const BLUE = "#2352c8";
const GREEN = "#1a7f43";
const GREY = "#aab3c0";

export function LabelingProgress({ progress, overlap }: { progress: Progress; overlap: number }) {
  const rows = Object.entries(progress.items_by_annotations)
    .map(([k, items]) => ({ k: Number(k), items }))
    .sort((a, b) => a.k - b.k)
    .map((r) => ({ ...r, name: `${r.k}` }));
  const pct = progress.target_annotations ? Math.round((progress.annotations / progress.target_annotations) * 100) : 0;
  return (
    <div className="adm-stack">
      <div className="adm-kpis">
        <Kpi label="items" value={progress.items} />
        <Kpi label="complete" value={`${progress.items_complete}`} />
        <Kpi label="annotations" value={`${progress.annotations} / ${progress.target_annotations}`} />
      </div>
      <div className="adm-job-progress">
        <ProgressBar value={progress.annotations} max={progress.target_annotations} label="Annotations collected of the target" />
        <span className="adm-num">{pct}%</span>
      </div>
      {progress.items > 0 && (
        <figure className="adm-figure">
          <figcaption>Items by number of annotations (overlap {overlap})</figcaption>
          <div className="adm-chart" aria-hidden="true">
            <ResponsiveContainer width="100%" height={180} initialDimension={{ width: 400, height: 180 }}>
              <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="name" tickLine={false} label={{ value: "annotations", position: "insideBottom", offset: -4 }} />
                <YAxis allowDecimals={false} width={48} />
                <Tooltip formatter={(v) => [String(v), "items"]} labelFormatter={(l) => `${String(l)} annotations`} />
                <Bar dataKey="items" isAnimationActive={false}>
                  {rows.map((r) => (
                    <Cell key={r.k} fill={r.k >= overlap ? GREEN : r.k === 0 ? GREY : BLUE} />
                  ))}
                </Bar>
              </BarChart>
            </ResponsiveContainer>
          </div>
          <table className="sr-only">
            <caption>Items by number of annotations</caption>
            <tbody>
              {rows.map((r) => (
                <tr key={r.k}>
                  <th scope="row">{r.k} annotations</th>
                  <td>{r.items} items</td>
                </tr>
              ))}
            </tbody>
          </table>
        </figure>
      )}
    </div>
  );
}

function Kpi({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <div className="adm-kpi">
      <div className="adm-kpi-value">{value}</div>
      <div className="adm-kpi-label">{label}</div>
    </div>
  );
}

function hourLabel(iso: string): string {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, "0")}:00`;
}

export function ThroughputChart({ throughput }: { throughput: Dashboard["throughput"] }) {
  const rows = throughput.map((t) => ({ hour: t.hour, label: hourLabel(t.hour), annotations: t.annotations }));
  const total = rows.reduce((s, r) => s + r.annotations, 0);
  const last24 = rows.slice(-24).reduce((s, r) => s + r.annotations, 0);
  return (
    <figure className="adm-figure">
      <figcaption>
        Annotations per hour, last {rows.length} hours: {total} in all, {last24} in the last 24 hours
      </figcaption>
      <div className="adm-chart" aria-hidden="true">
        <ResponsiveContainer width="100%" height={160} initialDimension={{ width: 400, height: 160 }}>
          <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" interval={5} tickLine={false} fontSize={12} />
            <YAxis allowDecimals={false} width={40} fontSize={12} />
            <Tooltip
              formatter={(v) => [String(v), "annotations"]}
              labelFormatter={(_l, payload) => {
                const hour = payload?.[0]?.payload?.hour as string | undefined;
                return hour ? new Date(hour).toLocaleString() : "";
              }}
            />
            <Bar dataKey="annotations" fill={BLUE} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
