/** Queries for the leaderboard and model pages: they read the server's materialized scores. */
import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";

export type LeaderboardRow = Schemas["LeaderboardRow"];
export type LeaderboardPage = Schemas["LeaderboardPage"];
export type Example = Schemas["Example"];
export type ModelScoresResponse = Schemas["ModelScoresResponse"];
export type DimensionScore = Schemas["DimensionScore"];

export interface BoardFilters {
  campaign?: number;
  split: "all" | "public" | "private";
  dimension: string;
  category: string;
  offset: number;
}

export const PAGE_SIZE = 25;

export const leaderboardQuery = (f: BoardFilters) =>
  queryOptions({
    queryKey: ["leaderboard", f] as const,
    queryFn: () =>
      unwrap(
        api.GET("/api/leaderboard/", {
          params: {
            query: {
              campaign: f.campaign,
              split: f.split,
              dimension: f.dimension,
              category: f.category || undefined,
              limit: PAGE_SIZE,
              offset: f.offset,
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });

export const campaignsForBoardQuery = queryOptions({
  queryKey: ["campaigns", "board"] as const,
  queryFn: () => unwrap(api.GET("/api/campaigns/", { params: { query: { limit: 200 } } })),
  staleTime: 60_000,
});

export const modelScoresQuery = (id: number) =>
  queryOptions({
    queryKey: ["models", id, "scores"] as const,
    queryFn: () => unwrap(api.GET("/api/models/{id}/scores/", { params: { path: { id } } })),
  });

export const modelExamplesQuery = (id: number, offset: number) =>
  queryOptions({
    queryKey: ["models", id, "examples", offset] as const,
    queryFn: () =>
      unwrap(
        api.GET("/api/models/{id}/examples/", { params: { path: { id }, query: { limit: 10, offset } } }),
      ),
    placeholderData: keepPreviousData,
  });
