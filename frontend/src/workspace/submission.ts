/** Submitting and skipping, then moving straight on to the next lease. */
import { useMutation, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { keys, leaseQuery, type NextResponse } from "../api/queries";
import type { Values } from "../rubric/types";
import { clearDraft } from "./draft";

export interface SubmitInput {
  values: Values;
  startedAt: string;
}

const MAX_TIME_MS = 86_400_000;

/**
 * `POST next` answers with the caller's live lease, so the next item can only be leased once
 * this one is closed: the next call goes out the moment the submit (or skip) answers, through
 * the lease query, and the mutation settles only when the next item is in the cache, so the
 * workspace swaps items in one step. Timing is recorded as a performance measure.
 */
async function advance(queryClient: QueryClient, campaignId: number, startMark: string): Promise<NextResponse | null> {
  void queryClient.invalidateQueries({ queryKey: keys.myProgress(campaignId) });
  void queryClient.invalidateQueries({ queryKey: keys.campaigns, exact: true });
  try {
    const next = await queryClient.fetchQuery({ ...leaseQuery(campaignId), staleTime: 0 });
    try {
      performance.measure("assay:submit-to-next", startMark);
    } catch {
      /* marks unsupported */
    }
    return next;
  } catch {
    // This item is done either way; drop it and let the lease query show its own error.
    await queryClient.resetQueries({ queryKey: keys.lease(campaignId) });
    return null;
  }
}

export function useSubmitMutation(campaignId: number, assignmentId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: ["submit", assignmentId],
    mutationFn: async ({ values, startedAt }: SubmitInput) => {
      const mark = `assay:submit:${assignmentId}`;
      performance.mark?.(mark);
      const now = new Date();
      const spent = Math.min(MAX_TIME_MS, Math.max(0, now.getTime() - Date.parse(startedAt)));
      await unwrap(
        api.POST("/api/assignments/{id}/submit/", {
          params: { path: { id: assignmentId } },
          body: {
            values,
            time_spent_ms: Number.isFinite(spent) ? spent : undefined,
            client_started_at: startedAt,
            client_submitted_at: now.toISOString(),
          },
        }),
      );
      clearDraft(assignmentId);
      return advance(queryClient, campaignId, mark);
    },
  });
}

export function useSkipMutation(campaignId: number, assignmentId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: ["skip", assignmentId],
    mutationFn: async () => {
      const mark = `assay:skip:${assignmentId}`;
      performance.mark?.(mark);
      await unwrap(api.POST("/api/assignments/{id}/skip/", { params: { path: { id: assignmentId } } }));
      clearDraft(assignmentId);
      return advance(queryClient, campaignId, mark);
    },
  });
}

/** Leave an item that can no longer be submitted (lease lost, already submitted elsewhere). */
export function useMoveOn(campaignId: number, assignmentId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      clearDraft(assignmentId);
      return advance(queryClient, campaignId, "");
    },
  });
}
