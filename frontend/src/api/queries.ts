/** Query keys and fetchers shared by pages (TanStack Query is the only store of server state). */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import { api, pageResults, unwrap, type Schemas } from "./client";

export type Campaign = Schemas["Campaign"];
export type CampaignDetail = Schemas["CampaignDetail"];
type CampaignPage = Schemas["CampaignPage"];
type NextResponse = Schemas["NextResponse"];
export type Assignment = Schemas["Assignment"];
export type Progress = Schemas["MyProgress"];

export const keys = {
  me: ["me"] as const,
  campaigns: ["campaigns"] as const,
  campaign: (id: number) => ["campaigns", id] as const,
  myProgress: (id: number) => ["campaigns", id, "my-progress"] as const,
  lease: (id: number) => ["campaigns", id, "lease"] as const,
  myHistory: (id: number) => ["campaigns", id, "my-history"] as const,
};

export type HistoryEntry = Schemas["HistoryEntry"];

/** The caller's own recent items in a campaign, newest first. */
export const myHistoryQuery = (id: number) =>
  queryOptions({
    queryKey: keys.myHistory(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/my-history/", { params: { path: { id }, query: { limit: 20 } } })),
    staleTime: 0,
  });

export const meQuery = queryOptions({
  queryKey: keys.me,
  queryFn: () => unwrap(api.GET("/api/me/")),
  staleTime: Infinity,
  retry: false,
});

const CAMPAIGN_PAGE_SIZE = 20;

/** The caller's campaigns, a page at a time (`limit`/`offset`); `select` flattens the pages. */
export const campaignsQuery = infiniteQueryOptions({
  queryKey: keys.campaigns,
  queryFn: ({ pageParam }) =>
    unwrap(api.GET("/api/campaigns/", { params: { query: { limit: CAMPAIGN_PAGE_SIZE, offset: pageParam } } })),
  initialPageParam: 0,
  getNextPageParam: (last: CampaignPage, _all, offset: number) =>
    last.next ? offset + last.results.length : undefined,
  select: (data) => ({ campaigns: data.pages.flatMap(pageResults), count: data.pages.at(-1)?.count ?? 0 }),
});

export const campaignQuery = (id: number) =>
  queryOptions({
    queryKey: keys.campaign(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/", { params: { path: { id } } })),
    staleTime: 5 * 60_000,
  });

export const myProgressQuery = (id: number) =>
  queryOptions({
    queryKey: keys.myProgress(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/my-progress/", { params: { path: { id } } })),
  });

/**
 * The caller's current lease and the one after it (`next?ahead=1`): `assignment` is the oldest
 * live lease (the same one on reload), `upcoming` the next, already held for them, so the
 * workspace can show it the moment the current one is submitted. `POST next` only tops the
 * leases up, so it is safe as a query. The workspace refreshes it itself after each submit.
 */
export const leaseQuery = (id: number) =>
  queryOptions({
    queryKey: keys.lease(id),
    queryFn: () => fetchLease(id),
    staleTime: Infinity,
    gcTime: 0,
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
    retry: false,
  });

function fetchLease(id: number): Promise<NextResponse> {
  return unwrap(api.POST("/api/campaigns/{id}/next/", { params: { path: { id }, query: { ahead: 1 } } }));
}
