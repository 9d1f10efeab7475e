/** For campaign admins: each annotator's exposure today and over recent days, against the limits. */
import { useId, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { Schemas } from "../api/client";
import { ErrorMessage } from "../components/ErrorMessage";
import { exposureQuery } from "./careQueries";
import "./care.css";

const SPANS = [7, 14, 30];

function fmtMinutes(m: number): string {
  return m < 10 ? m.toFixed(1) : Math.round(m).toString();
}

export function ExposurePanel({ campaignId }: { campaignId: number }) {
  const uid = useId();
  const [days, setDays] = useState(7);
  const report = useQuery(exposureQuery(campaignId, days));
  return (
    <section className="panel" aria-labelledby={`${uid}-title`}>
      <div className="adm-panel-head">
        <h2 id={`${uid}-title`}>Annotator exposure</h2>
        <label className="adm-push">
          Recent:{" "}
          <select className="adm-input" value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {SPANS.map((d) => (
              <option key={d} value={d}>
                last {d} days
              </option>
            ))}
          </select>
        </label>
      </div>
      {report.isPending && <p className="muted">Loading exposure…</p>}
      {report.error && <ErrorMessage error={report.error} />}
      {report.data && <ExposureTable report={report.data} />}
    </section>
  );
}

type Report = Schemas["ExposureReport"];

function ExposureTable({ report }: { report: Report }) {
  if (report.annotators.length === 0) return <p className="muted">No annotators yet.</p>;
  const itemLimit = report.daily_item_limit ? ` / ${report.daily_item_limit}` : "";
  const minuteLimit = report.daily_minute_limit ? ` / ${report.daily_minute_limit}` : "";
  return (
    <div className="adm-table-wrap">
      <table className="adm-table care-exposure" aria-label="Exposure per annotator">
        <thead>
          <tr>
            <th scope="col">Annotator</th>
            <th scope="col" className="adm-num">
              Items today{itemLimit}
            </th>
            <th scope="col" className="adm-num">
              Minutes today{minuteLimit}
            </th>
            <th scope="col" className="adm-num">
              Items, last {report.days} days
            </th>
            <th scope="col" className="adm-num">
              Minutes, last {report.days} days
            </th>
            <th scope="col" className="adm-num">
              Days active
            </th>
          </tr>
        </thead>
        <tbody>
          {report.annotators.map((a) => (
            <tr key={a.annotator_id}>
              <th scope="row">
                {a.username}
                {a.limit_reached_today && <span className="badge">limit reached</span>}
              </th>
              <td className={`adm-num${a.limit_reached_today ? " care-over" : ""}`}>{a.items_today}</td>
              <td className="adm-num">{fmtMinutes(a.minutes_today)}</td>
              <td className="adm-num">{a.items_recent}</td>
              <td className="adm-num">{fmtMinutes(a.minutes_recent)}</td>
              <td className="adm-num">{a.days.length}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">Minutes are the time spent on submitted items, as the browser measured it (each capped at the lease length).</p>
    </div>
  );
}
