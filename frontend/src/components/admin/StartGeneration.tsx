/** Start one generation job per selected model; failures stay on screen with their field errors. */
import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap } from "../../api/client";
import { errorText } from "../ErrorMessage";
import { describeParams } from "./decoding";
import { adminKeys, type CandidateModel, type GenerationJob } from "./adminQueries";
import type { FieldErrors } from "./fields";

type Outcome = { state: "started"; job: GenerationJob } | { state: "failed"; error: unknown };
/** Per model id: its job, or why it did not start. */
export type JobOutcomes = Record<number, Outcome>;

interface Props {
  campaignId: number;
  models: CandidateModel[];
  params: Record<string, number>;
  /** Every selected model has a job. */
  onAllStarted: () => void;
  /** Field errors of the last attempt, merged over models (e.g. "params.temperature"). */
  onErrors?: (errors: FieldErrors) => void;
  /** Outcomes held by the caller, to outlive this component (else kept here). */
  outcomes?: JobOutcomes;
  onOutcomes?: (outcomes: JobOutcomes) => void;
}

export function StartGeneration(props: Props) {
  const { campaignId, models, params, onAllStarted, onErrors } = props;
  const qc = useQueryClient();
  const [ownOutcomes, setOwnOutcomes] = useState<JobOutcomes>({});
  const outcomes = props.outcomes ?? ownOutcomes;
  const setOutcomes = props.onOutcomes ?? setOwnOutcomes;
  const [running, setRunning] = useState(false);

  const start = async () => {
    setRunning(true);
    const next = { ...outcomes };
    const merged: FieldErrors = {};
    for (const model of models) {
      if (next[model.id]?.state === "started") continue;
      try {
        const job = await unwrap(
          api.POST("/api/campaigns/{id}/jobs/", {
            params: { path: { id: campaignId } },
            body: { model: model.id, params },
          }),
        );
        next[model.id] = { state: "started", job };
      } catch (error) {
        next[model.id] = { state: "failed", error };
        if (error instanceof ApiError) Object.assign(merged, error.fieldErrors);
      }
      setOutcomes({ ...next });
    }
    setRunning(false);
    onErrors?.(merged);
    void qc.invalidateQueries({ queryKey: adminKeys.jobs(campaignId) });
    if (models.every((m) => next[m.id]?.state === "started")) onAllStarted();
  };

  const failed = models.filter((m) => outcomes[m.id]?.state === "failed").length;
  return (
    <div className="adm-stack">
      {models.length === 0 ? (
        <p className="muted">Pick at least one model.</p>
      ) : (
        <div className="adm-table-wrap">
          <table className="adm-table">
            <caption>One job per model, with these decoding settings: {describeParams(params)}</caption>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {models.map((m) => {
                const o = outcomes[m.id];
                return (
                  <tr key={m.id}>
                    <td>{m.name}</td>
                    <td>
                      {!o && <span className="muted">not started</span>}
                      {o?.state === "started" && (
                        <span className="adm-ok">
                          job #{o.job.id} {o.job.status}
                        </span>
                      )}
                      {o?.state === "failed" && <JobStartError error={o.error} />}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <div className="adm-actions">
        <button
          type="button"
          className="btn btn-primary"
          disabled={running || models.length === 0}
          onClick={() => void start()}
        >
          {running ? "Starting…" : failed ? `Retry ${failed} failed` : "Start generation"}
        </button>
      </div>
    </div>
  );
}

function JobStartError({ error }: { error: unknown }) {
  const fields = error instanceof ApiError ? Object.entries(error.fieldErrors) : [];
  return (
    <div className="adm-error-text" role="alert">
      {errorText(error)}
      {fields.length > 0 && (
        <ul className="adm-tight">
          {fields.map(([key, reasons]) => (
            <li key={key}>
              <code>{key}</code>: {reasons.join("; ")}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
