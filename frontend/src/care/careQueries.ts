/** Server state of care for annotators (labeling/care): the caller's care page and blur choice. */
import { queryOptions, useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { keys } from "../api/queries";

export type CareStatus = Schemas["CareStatus"];
export type MyCare = Schemas["MyCare"];

export const careKeys = {
  mine: (id: number) => ["campaigns", id, "care"] as const,
  preference: ["care", "preference"] as const,
  exposure: (id: number, days: number) => ["campaigns", id, "care", "exposure", days] as const,
};

export const myCareQuery = (id: number) =>
  queryOptions({
    queryKey: careKeys.mine(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{id}/care/", { params: { path: { id } } })),
  });

export const blurPreferenceQuery = queryOptions({
  queryKey: careKeys.preference,
  queryFn: () => unwrap(api.GET("/api/care/preferences/")),
  staleTime: Infinity,
});

export const exposureQuery = (id: number, days: number) =>
  queryOptions({
    queryKey: careKeys.exposure(id, days),
    queryFn: () =>
      unwrap(api.GET("/api/campaigns/{id}/care/exposure/", { params: { path: { id }, query: { days } } })),
    refetchInterval: 60_000,
  });

/** After a care change the lease answer is out of date: ask `next` again. */
function useRefreshLease(campaignId: number) {
  const qc = useQueryClient();
  return (mine?: MyCare) => {
    if (mine) qc.setQueryData(careKeys.mine(campaignId), mine);
    void qc.invalidateQueries({ queryKey: keys.lease(campaignId), exact: true });
    void qc.invalidateQueries({ queryKey: keys.myProgress(campaignId) });
  };
}

export function useAcknowledgeWarning(campaignId: number) {
  const refresh = useRefreshLease(campaignId);
  return useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/campaigns/{id}/care/acknowledge/", { params: { path: { id: campaignId } } })),
    onSuccess: refresh,
  });
}

export function useTakeBreak(campaignId: number) {
  const refresh = useRefreshLease(campaignId);
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/campaigns/{id}/care/break/", { params: { path: { id: campaignId } } })),
    onSuccess: refresh,
  });
}

export function useSetOptOuts(campaignId: number) {
  const refresh = useRefreshLease(campaignId);
  return useMutation({
    mutationFn: (optOuts: string[]) =>
      unwrap(
        api.PATCH("/api/campaigns/{id}/care/", {
          params: { path: { id: campaignId } },
          body: { hazard_opt_outs: optOuts },
        }),
      ),
    onSuccess: refresh,
  });
}

export function useSetBlurPreference() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (blur: boolean) => unwrap(api.PUT("/api/care/preferences/", { body: { blur_outputs: blur } })),
    // At once on screen; back to what the server holds if it refuses.
    onMutate: async (blur: boolean) => {
      // A fetch still in flight would put the old answer back over the new one.
      await qc.cancelQueries({ queryKey: careKeys.preference });
      const before = qc.getQueryData(careKeys.preference);
      qc.setQueryData(careKeys.preference, { blur_outputs: blur });
      return before;
    },
    onError: (_error, _blur, before) => qc.setQueryData(careKeys.preference, before),
    onSuccess: (pref) => qc.setQueryData(careKeys.preference, pref),
  });
}
