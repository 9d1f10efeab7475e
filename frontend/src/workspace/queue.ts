/**
 * The workspace's queue: the item on screen, the one after it, and the answers on their way.
 *
 * The lease query asks `next?ahead=1`, so besides the item to label (`assignment`) the server
 * already holds the following one (`upcoming`) for this annotator. Submitting (or skipping)
 * moves past the current item at once, in the same event: the upcoming item is on screen before
 * any request goes out. The submit then runs in the background; when nothing else is being
 * sent, the lease query is fetched again (the old `upcoming` comes back as `assignment`, with a
 * new `upcoming`).
 *
 * Items the annotator moved past stay hidden from the server's answers (one whose submit failed
 * is still leased to them, so it keeps coming back as the oldest lease). A failed submit is kept
 * in the outbox, with its localStorage draft, until it is sent or the annotator dismisses a
 * failure that no retry can fix; a submit rejected as invalid (400) brings its item back into
 * view with the errors. Progress moves on optimistically until the server's next answer.
 */
import { useCallback, useEffect, useReducer, useRef } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap } from "../api/client";
import { keys, leaseQuery, type Assignment, type Progress } from "../api/queries";
import type { Values } from "../rubric/types";
import { clearDraft } from "./draft";

interface SubmitBody {
  values: Values;
  time_spent_ms?: number;
  client_started_at: string;
  client_submitted_at: string;
}

export interface Outgoing {
  assignment: Assignment;
  kind: "submit" | "skip";
  body?: SubmitBody;
  /** Skip: why (optional). */
  reason?: string;
  state: "sending" | "failed";
  /** The last failure; kept while a retry is under way. */
  error?: unknown;
}

/** An item whose submit was rejected as invalid: back on screen, errors by its questions. */
export interface Rejection {
  assignment: Assignment;
  error: ApiError;
  sent: Values;
}

interface State {
  outbox: Outgoing[];
  /** Every item moved past on this page, never shown again unless brought back. */
  hidden: ReadonlySet<number>;
  recalled: Rejection[];
  /** The item just left: stays on screen (busy) while nothing else is ready to show. */
  left: Outgoing | null;
  /** Optimistic progress, until the server's next answer. */
  progress: Progress | null;
  /** Sending, or fetching the lease after sending; the server's answer is not final yet. */
  syncing: boolean;
  /** Items whose skip was undone: shown first. */
  restored: Assignment[];
  /** The last item skipped on this page (for "Undo skip"), until the next move. */
  lastSkipped: Assignment | null;
  /** A request was refused because the session ended: the item is kept, sign in again. */
  authLost: boolean;
}

type Action =
  | { type: "advance"; entry: Outgoing; base: Progress | null }
  | { type: "retry"; id: number }
  | { type: "sent"; id: number }
  | { type: "failed"; id: number; error: unknown }
  | { type: "dismiss"; id: number }
  | { type: "synced" }
  | { type: "unskipped"; assignment: Assignment }
  | { type: "authLost" };

const initialState: State = {
  outbox: [],
  hidden: new Set(),
  recalled: [],
  left: null,
  progress: null,
  syncing: false,
  restored: [],
  lastSkipped: null,
  authLost: false,
};

/** The session ended (logged out elsewhere, expired): not a permission problem. */
export function isAuthError(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    (error.status === 401 || error.code === "not_authenticated" || error.code === "authentication_failed")
  );
}

/** Failures no retry can fix: the annotator can only take note and dismiss them. */
const FINAL_CODES = new Set(["lease_lost", "already_submitted", "skipped", "not_found"]);

export function isFinal(error: unknown): boolean {
  return error instanceof ApiError && (FINAL_CODES.has(error.code) || error.status === 404);
}

function withHidden(hidden: ReadonlySet<number>, id: number, on: boolean): Set<number> {
  const next = new Set(hidden);
  if (on) next.add(id);
  else next.delete(id);
  return next;
}

function reducer(state: State, action: Action): State {
  switch (action.type) {
    case "advance": {
      const { entry } = action;
      const id = entry.assignment.id;
      const base = state.progress ?? action.base;
      return {
        ...state,
        outbox: [...state.outbox.filter((e) => e.assignment.id !== id), entry],
        hidden: withHidden(state.hidden, id, true),
        recalled: state.recalled.filter((r) => r.assignment.id !== id),
        restored: state.restored.filter((a) => a.id !== id),
        lastSkipped: entry.kind === "skip" ? entry.assignment : null,
        left: entry,
        progress: base && {
          ...base,
          done: base.done + (entry.kind === "submit" ? 1 : 0),
          // A capped count is a lower bound ("1000+"): it stays until the server counts again.
          available: base.available_capped ? base.available : Math.max(0, base.available - 1),
        },
        syncing: true,
      };
    }
    case "retry":
      return {
        ...state,
        outbox: state.outbox.map((e) => (e.assignment.id === action.id ? { ...e, state: "sending" } : e)),
        syncing: true,
      };
    case "sent":
      return { ...state, outbox: state.outbox.filter((e) => e.assignment.id !== action.id) };
    case "failed": {
      const entry = state.outbox.find((e) => e.assignment.id === action.id);
      if (!entry) return state;
      const { error } = action;
      if (isAuthError(error)) {
        // Not saved, and not the annotator's fault: the item comes back (its draft is still
        // stored) and the page sends them to sign in; the lease is still theirs.
        return {
          ...state,
          outbox: state.outbox.filter((e) => e !== entry),
          hidden: withHidden(state.hidden, action.id, false),
          restored: [entry.assignment, ...state.restored.filter((a) => a.id !== action.id)],
          lastSkipped: null,
          authLost: true,
        };
      }
      if (entry.kind === "submit" && entry.body && error instanceof ApiError && error.status === 400) {
        // Still leased to them: back into view, first, with the errors next to the questions.
        return {
          ...state,
          outbox: state.outbox.filter((e) => e !== entry),
          hidden: withHidden(state.hidden, action.id, false),
          recalled: [
            { assignment: entry.assignment, error, sent: entry.body.values },
            ...state.recalled.filter((r) => r.assignment.id !== action.id),
          ],
        };
      }
      return { ...state, outbox: state.outbox.map((e) => (e === entry ? { ...e, state: "failed", error } : e)) };
    }
    case "dismiss":
      return {
        ...state,
        outbox: state.outbox.filter((e) => e.assignment.id !== action.id),
        hidden: withHidden(state.hidden, action.id, false),
      };
    case "synced":
      return { ...state, left: null, progress: null, syncing: false };
    case "unskipped":
      return {
        ...state,
        hidden: withHidden(state.hidden, action.assignment.id, false),
        restored: [action.assignment, ...state.restored.filter((a) => a.id !== action.assignment.id)],
        lastSkipped: null,
      };
    case "authLost":
      return { ...state, authLost: true };
  }
}

const MAX_TIME_MS = 86_400_000;

function submitBody(values: Values, startedAt: string, now = new Date()): SubmitBody {
  const spent = Math.min(MAX_TIME_MS, Math.max(0, now.getTime() - Date.parse(startedAt)));
  return {
    values,
    time_spent_ms: Number.isFinite(spent) ? spent : undefined,
    client_started_at: startedAt,
    client_submitted_at: now.toISOString(),
  };
}

/** Run `fn` once the browser has painted what was just rendered. */
function afterPaint(fn: () => void) {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(() => setTimeout(fn, 0));
  else setTimeout(fn, 0);
}

export function useLeaseQueue(campaignId: number, enabled = true) {
  const queryClient = useQueryClient();
  const lease = useQuery({ ...leaseQuery(campaignId), enabled });
  const [state, dispatch] = useReducer(reducer, initialState);

  const stateRef = useRef(state);
  stateRef.current = state;
  const progress = state.progress ?? lease.data?.progress ?? null;
  const progressRef = useRef(progress);
  progressRef.current = progress;

  /** Requests (submit, skip) under way. */
  const sending = useRef(0);
  /** Bumped by every move and every refresh: a lease answer only counts if it is the newest. */
  const generation = useRef(0);
  /** A submit → next timing to finish once the next item is painted. */
  const measure = useRef<{ name: string; mark: string; from: number } | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  /** Fetch the lease again; its answer is final once nothing is being sent any more. */
  const refresh = useCallback(async () => {
    const mine = ++generation.current;
    const queryKey = keys.lease(campaignId);
    await queryClient.cancelQueries({ queryKey, exact: true });
    if (mine !== generation.current) return;
    try {
      await queryClient.fetchQuery({ ...leaseQuery(campaignId), staleTime: 0 });
    } catch {
      // The lease query holds the error; the page offers to try again.
    }
    if (mine !== generation.current || sending.current > 0 || !alive.current) return;
    dispatch({ type: "synced" });
    void queryClient.invalidateQueries({ queryKey: keys.myProgress(campaignId) });
    void queryClient.invalidateQueries({ queryKey: keys.campaigns, exact: true });
  }, [queryClient, campaignId]);

  const send = useCallback(
    async (entry: Outgoing) => {
      const id = entry.assignment.id;
      sending.current += 1;
      generation.current += 1; // lease answers asked for before this are out of date
      try {
        if (entry.kind === "submit") {
          await unwrap(api.POST("/api/assignments/{id}/submit/", { params: { path: { id } }, body: entry.body! }));
        } else {
          await unwrap(
            api.POST("/api/assignments/{id}/skip/", {
              params: { path: { id } },
              body: entry.reason ? { reason: entry.reason } : {},
            }),
          );
        }
        clearDraft(id);
        if (alive.current) dispatch({ type: "sent", id });
      } catch (error) {
        if (alive.current) dispatch({ type: "failed", id, error });
      } finally {
        sending.current -= 1;
        if (sending.current === 0 && alive.current) void refresh();
      }
    },
    [refresh],
  );

  const advance = useCallback(
    (entry: Outgoing, measureName: string) => {
      const mark = `assay:${entry.kind}:${entry.assignment.id}`;
      try {
        performance.mark(mark);
        measure.current = { name: measureName, mark, from: entry.assignment.id };
      } catch {
        /* marks unsupported */
      }
      dispatch({ type: "advance", entry, base: progressRef.current });
      void send(entry);
    },
    [send],
  );

  const submit = useCallback(
    (assignment: Assignment, values: Values, startedAt: string) =>
      advance({ assignment, kind: "submit", body: submitBody(values, startedAt), state: "sending" }, "assay:submit-to-next"),
    [advance],
  );

  const skip = useCallback(
    (assignment: Assignment, reason?: string) =>
      advance({ assignment, kind: "skip", reason, state: "sending" }, "assay:skip-to-next"),
    [advance],
  );

  /** Undo a skip: once the skip has landed, the item is leased again and shown first. */
  const unskip = useCallback(async (id: number): Promise<string | null> => {
    // Wait for the skip itself to land (it is sent in the background).
    for (let i = 0; i < 100 && stateRef.current.outbox.some((e) => e.assignment.id === id && e.state === "sending"); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      const assignment = await unwrap(api.POST("/api/assignments/{id}/unskip/", { params: { path: { id } } }));
      if (alive.current) dispatch({ type: "unskipped", assignment });
      return null;
    } catch (error) {
      if (isAuthError(error)) {
        if (alive.current) dispatch({ type: "authLost" });
        return null;
      }
      return error instanceof ApiError ? error.message : "Could not undo the skip.";
    }
  }, []);

  const retry = useCallback(
    (id: number) => {
      const entry = stateRef.current.outbox.find((e) => e.assignment.id === id);
      if (!entry || entry.state === "sending") return;
      dispatch({ type: "retry", id });
      void send(entry);
    },
    [send],
  );

  /** Drop a failure that cannot be fixed, and with it the answer kept for it. */
  const dismiss = useCallback((id: number) => {
    clearDraft(id);
    dispatch({ type: "dismiss", id });
  }, []);

  /** An item is on screen: finish the timing of the move that led here, once it is painted. */
  const shown = useCallback((assignmentId: number) => {
    const m = measure.current;
    if (!m || m.from === assignmentId) return;
    measure.current = null;
    afterPaint(() => {
      try {
        performance.measure(m.name, m.mark);
        performance.clearMarks(m.mark);
      } catch {
        /* marks unsupported */
      }
    });
  }, []);

  const nothingShown = useCallback(() => {
    measure.current = null;
  }, []);

  // What to show: items brought back first, then the server's leases less those moved past.
  const items: Assignment[] = [];
  const add = (a: Assignment | null | undefined) => {
    if (a && !items.some((b) => b.id === a.id)) items.push(a);
  };
  for (const r of state.recalled) add(r.assignment);
  for (const a of state.restored) add(a);
  for (const a of [lease.data?.assignment, lease.data?.upcoming]) if (a && !state.hidden.has(a.id)) add(a);

  let current = items[0] ?? null;
  let pending: Outgoing["kind"] | null = null;
  if (!current && state.syncing && state.left) {
    // Nothing was ready: the item just left stays in view, busy, until the next one comes.
    current = state.left.assignment;
    pending = state.left.kind;
  }

  return {
    lease,
    current,
    upcoming: items[1] ?? null,
    pending,
    rejection: (current && state.recalled.find((r) => r.assignment.id === current.id)) ?? null,
    progress,
    problems: state.outbox.filter((e) => e.error !== undefined),
    syncing: state.syncing,
    lastSkipped: state.lastSkipped,
    authLost: state.authLost,
    submit,
    skip,
    unskip,
    retry,
    dismiss,
    refresh,
    shown,
    nothingShown,
  };
}
