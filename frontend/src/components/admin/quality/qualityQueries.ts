/** Quality-control queries and mutations (admins only); keys sit under ["campaigns", id]. */
import { queryOptions } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Schemas } from "../../../api/client";

export type QualityOverview = Schemas["QualityOverview"];
export type DimensionAgreement = Schemas["DimensionAgreement"];
export type AnnotatorQuality = Schemas["AnnotatorQuality"];
export type ReviewItem = Schemas["ReviewItemDetail"];
export type SideBySide = Schemas["SideBySide"];

/** Krippendorff's threshold for tentative conclusions: dimensions under it are flagged. */
export const ALPHA_FLAG = 0.667;
export const REVIEW_PAGE = 20;

export const qualityKeys = {
  overview: (id: number) => ["campaigns", id, "quality"] as const,
  review: (id: number, dimension: string, offset: number, resolved: boolean) =>
    ["campaigns", id, "review", dimension, offset, resolved] as const,
  reviewAll: (id: number) => ["campaigns", id, "review"] as const,
  item: (id: number, itemId: number) => ["campaigns", id, "review-item", itemId] as const,
};

export const qualityQuery = (id: number) =>
  queryOptions({
    queryKey: qualityKeys.overview(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/quality/", { params: { path: { id } } })),
    staleTime: 10_000,
    // While a refit is waiting or running, look again soon: the report is rebuilt by it.
    refetchInterval: (query) =>
      query.state.data?.refit_running || query.state.data?.refit_scheduled ? 5_000 : false,
  });

export const reviewQuery = (id: number, dimension: string, offset: number, resolved: boolean) =>
  queryOptions({
    queryKey: qualityKeys.review(id, dimension, offset, resolved),
    queryFn: () =>
      unwrap(
        api.GET("/api/campaigns/{id}/review/", {
          params: {
            path: { id },
            query: { dimension, limit: REVIEW_PAGE, offset, include_resolved: resolved },
          },
        }),
      ),
    enabled: dimension !== "",
  });

export const reviewItemQuery = (id: number, itemId: number) =>
  queryOptions({
    queryKey: qualityKeys.item(id, itemId),
    queryFn: () =>
      unwrap(
        api.GET("/api/campaigns/{id}/review/{item_id}/", {
          params: { path: { id, item_id: itemId } },
        }),
      ),
  });

export function requestRefit(id: number) {
  return unwrap(api.POST("/api/campaigns/{id}/quality/refit/", { params: { path: { id } } }));
}

export function resumeMember(id: number, userId: number) {
  return unwrap(
    api.POST("/api/campaigns/{id}/members/{user_id}/resume/", {
      params: { path: { id, user_id: userId } },
    }),
  );
}

export function adjudicate(id: number, itemId: number, dimension: string, value: unknown, note: string) {
  return unwrap(
    api.POST("/api/campaigns/{id}/review/{item_id}/adjudicate/", {
      params: { path: { id, item_id: itemId } },
      body: { dimension, value, note },
    }),
  );
}

/** 204 has no body, so it cannot go through `unwrap`. */
export async function undoAdjudication(id: number, itemId: number, dimension: string) {
  const { response, error } = await api.DELETE("/api/campaigns/{id}/review/{item_id}/adjudicate/", {
    params: { path: { id, item_id: itemId }, query: { dimension } },
  });
  if (!response.ok) throw ApiError.fromBody(response.status, error);
}

export function markGold(id: number, itemId: number, goldValues: Record<string, unknown>) {
  return unwrap(
    api.PUT("/api/campaigns/{id}/items/{item_id}/gold/", {
      params: { path: { id, item_id: itemId } },
      body: { gold_values: goldValues },
    }),
  );
}

export function unmarkGold(id: number, itemId: number) {
  return unwrap(
    api.DELETE("/api/campaigns/{id}/items/{item_id}/gold/", { params: { path: { id, item_id: itemId } } }),
  );
}

export function percent(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(digits)}%`;
}

export function fixed(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined ? "—" : value.toFixed(digits);
}

/** A consensus or annotation value as plain text (spans as "label [start–end]"). */
export function valueText(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    if (value.length === 0) return "none";
    return value
      .map((v) =>
        v && typeof v === "object" && "start" in v
          ? `${String((v as { label: unknown }).label)} [${String((v as { start: unknown }).start)}–${String((v as { end: unknown }).end)}]`
          : String(v),
      )
      .join(", ");
  }
  return JSON.stringify(value);
}
