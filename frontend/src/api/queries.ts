/** Query keys and fetchers shared by pages (TanStack Query is the only store of server state). */
import { queryOptions } from "@tanstack/react-query";
import { api, pageResults, unwrap, type Schemas } from "./client";

export type Campaign = Schemas["Campaign"];
export type CampaignDetail = Schemas["CampaignDetail"];
export type NextResponse = Schemas["NextResponse"];
export type Assignment = Schemas["Assignment"];
export type Me = Schemas["Me"];

export const keys = {
  me: ["me"] as const,
  campaigns: ["campaigns"] as const,
  campaign: (id: number) => ["campaigns", id] as const,
  myProgress: (id: number) => ["campaigns", id, "my-progress"] as const,
  lease: (id: number) => ["campaigns", id, "lease"] as const,
};

export const meQuery = queryOptions({
  queryKey: keys.me,
  queryFn: () => unwrap(api.GET("/api/me/")),
  staleTime: Infinity,
  retry: false,
});

export const campaignsQuery = queryOptions({
  queryKey: keys.campaigns,
  queryFn: async () => pageResults<Campaign>(await unwrap(api.GET("/api/campaigns/"))),
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
 * The caller's current lease. `POST next` is idempotent while a lease is live (it returns the
 * same one), so it is safe as a query: reloads and remounts get the same item back.
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

export function fetchLease(id: number): Promise<NextResponse> {
  return unwrap(api.POST("/api/campaigns/{id}/next/", { params: { path: { id } } }));
}
