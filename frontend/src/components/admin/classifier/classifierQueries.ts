/** Queries for the classifier page; keys sit under ["campaigns", id], as keys.campaign(id). */
import { queryOptions } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";

export type Overview = Schemas["ClassifierOverview"];
export type Target = Schemas["Target"];
export type TrainingRun = Schemas["TrainingRun"];
export type Metrics = Schemas["Metrics"];
export type ReliabilityBin = Schemas["ReliabilityBin"];
export type Prediction = Schemas["Prediction"];
export type Backend = Schemas["ClassifierBackendEnum"];

export const classifierKeys = {
  all: (id: number) => ["campaigns", id, "classifier"] as const,
  overview: (id: number) => ["campaigns", id, "classifier", "overview"] as const,
  runs: (id: number) => ["campaigns", id, "classifier", "runs"] as const,
  run: (id: number, runId: number) => ["campaigns", id, "classifier", "run", runId] as const,
  predictions: (id: number, target: string) =>
    ["campaigns", id, "classifier", "predictions", target] as const,
};

const ACTIVE_RUN_STATES: ReadonlySet<string> = new Set(["queued", "running"]);
const RUN_POLL_MS = 3000;

export const overviewQuery = (id: number) =>
  queryOptions({
    queryKey: classifierKeys.overview(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/classifier/", { params: { path: { id } } })),
  });

export const runsQuery = (id: number) =>
  queryOptions({
    queryKey: classifierKeys.runs(id),
    queryFn: () =>
      unwrap(api.GET("/api/campaigns/{id}/classifier/runs/", { params: { path: { id }, query: { limit: 50 } } })),
    // Poll while a run is queued or running, so its status and metrics appear when it ends.
    refetchInterval: (query) =>
      query.state.data?.results.some((r) => ACTIVE_RUN_STATES.has(r.status)) ? RUN_POLL_MS : false,
  });

export const runQuery = (id: number, runId: number) =>
  queryOptions({
    queryKey: classifierKeys.run(id, runId),
    queryFn: () => unwrap(api.GET("/api/classifier-runs/{id}/", { params: { path: { id: runId } } })),
  });

export const predictionsQuery = (id: number, target: string) =>
  queryOptions({
    queryKey: classifierKeys.predictions(id, target),
    queryFn: () =>
      unwrap(
        api.GET("/api/campaigns/{id}/classifier/predictions/", {
          params: { path: { id }, query: { target, limit: 20 } },
        }),
      ),
  });

export function retrain(id: number, body: { target: string; backend: Backend }) {
  return unwrap(api.POST("/api/campaigns/{id}/classifier/runs/", { params: { path: { id } }, body }));
}
