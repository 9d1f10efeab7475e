/** Query options for the admin pages; keys sit under ["campaigns", id], as keys.campaign(id). */
import { queryOptions } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";

export type GenerationJob = Schemas["GenerationJob"];
export type CandidateModel = Schemas["CandidateModel"];
export type Dashboard = Schemas["Dashboard"];
export type CampaignScores = Schemas["CampaignScores"];
export type ModelScores = Schemas["ModelScores"];
export type SplitScores = Schemas["SplitScores"];
export type DimensionScore = Schemas["DimensionScore"];
export type Rate = Schemas["Rate"];
export type AnnotatorStats = Schemas["AnnotatorStats"];
export type Progress = Schemas["Progress"];
export type ImportErrorRow = Schemas["ImportErrorRow"];
export type CampaignStatus = Schemas["CampaignStatusEnum"];
export type Role = Schemas["RoleEnum"];
export type Split = Schemas["SplitEnum"];

export const adminKeys = {
  defaultRubric: ["rubrics", "default"] as const,
  models: ["models"] as const,
  jobs: (id: number) => ["campaigns", id, "jobs"] as const,
  dashboard: (id: number) => ["campaigns", id, "dashboard"] as const,
  scores: (id: number) => ["campaigns", id, "scores"] as const,
  members: (id: number) => ["campaigns", id, "members"] as const,
};

/** Jobs still moving: the jobs list polls while any of them is in one of these states. */
export const ACTIVE_JOB_STATES: ReadonlySet<string> = new Set(["queued", "running"]);
export const JOB_POLL_MS = 2000;

export const defaultRubricQuery = queryOptions({
  queryKey: adminKeys.defaultRubric,
  queryFn: () => unwrap(api.GET("/api/rubrics/default/")),
  staleTime: Infinity,
});

export const modelsQuery = queryOptions({
  queryKey: adminKeys.models,
  queryFn: () => unwrap(api.GET("/api/models/")),
});

export const jobsQuery = (id: number) =>
  queryOptions({
    queryKey: adminKeys.jobs(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/jobs/", { params: { path: { id } } })),
    staleTime: 0,
    refetchInterval: (query) =>
      query.state.data?.some((job) => ACTIVE_JOB_STATES.has(job.status)) ? JOB_POLL_MS : false,
  });

export const dashboardQuery = (id: number) =>
  queryOptions({
    queryKey: adminKeys.dashboard(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/dashboard/", { params: { path: { id } } })),
    staleTime: 15_000,
    refetchInterval: 60_000,
  });

export const scoresQuery = (id: number) =>
  queryOptions({
    queryKey: adminKeys.scores(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/scores/", { params: { path: { id } } })),
    // Scores bootstrap over prompts on the server: refetched on demand, not on a timer.
    staleTime: 60_000,
  });

export const membersQuery = (id: number) =>
  queryOptions({
    queryKey: adminKeys.members(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/members/", { params: { path: { id } } })),
  });
