import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { JobsPanel, looksRunning } from "./JobsPanel";
import { JOB_POLL_MS, jobsQuery, type GenerationJob } from "./adminQueries";
import { mockServer, renderWithProviders } from "./testUtils";

const NOW = Date.parse("2025-01-01T12:00:00Z");

function job(over: Partial<GenerationJob>): GenerationJob {
  return {
    id: 1,
    campaign: 7,
    model: 3,
    model_name: "smol-135m",
    params: { temperature: 0.7, top_p: 0.95, max_new_tokens: 256, seed: 0, samples_per_prompt: 1 },
    params_hash: "abc",
    status: "running",
    done: 30,
    total: 120,
    progress: 0.25,
    device: "cuda:0",
    dtype: "bfloat16",
    tokens_per_s: 812.4,
    items_per_s: 3.2,
    eta_s: 28,
    chunks_total: 4,
    chunks_done: 1,
    error: "",
    attempts: 1,
    heartbeat_at: new Date(NOW - 5_000).toISOString(),
    started_at: new Date(NOW - 60_000).toISOString(),
    finished_at: null,
    created_at: new Date(NOW - 70_000).toISOString(),
    ...over,
  };
}

const JOBS = [
  job({}),
  job({
    id: 2,
    model_name: "tiny-gpt2",
    status: "failed",
    done: 10,
    total: 40,
    tokens_per_s: null,
    items_per_s: null,
    error: "CUDA out of memory. Tried to allocate 2.00 GiB <script>alert(1)</script>",
    heartbeat_at: new Date(NOW - 600_000).toISOString(),
  }),
];

describe("JobsPanel", () => {
  it("renders progress bars, throughput, device and errors from the data", () => {
    renderWithProviders(<JobsPanel jobs={JOBS} campaignId={7} canRestart={false} now={NOW} />);
    const bars = screen.getAllByRole("progressbar");
    expect(bars).toHaveLength(2);
    expect(bars[0]).toHaveAttribute("aria-valuenow", "30");
    expect(bars[0]).toHaveAttribute("aria-valuemax", "120");
    expect(bars[1]).toHaveAccessibleName("Generation progress of tiny-gpt2 (job 2)");
    expect(screen.getByText("30 / 120 (25%)")).toBeInTheDocument();
    expect(screen.getByText("10 / 40 (25%)")).toBeInTheDocument();
    const first = screen.getAllByRole("listitem")[0]!;
    expect(first).toHaveTextContent("812.4");
    expect(first).toHaveTextContent("cuda:0 · bfloat16");
    expect(first).toHaveTextContent("5 s ago");
    // Errors are text: the markup in them stays visible, not parsed.
    expect(screen.getByText(/CUDA out of memory/)).toHaveTextContent("<script>alert(1)</script>");
    expect(document.querySelector(".adm-jobs script")).toBeNull();
    expect(screen.queryByRole("button", { name: "Restart" })).toBeNull();
  });

  it("restarts a failed job directly", async () => {
    const calls = mockServer({ "POST /api/jobs/2/restart/": { body: job({ id: 2, status: "queued" }) } });
    const user = userEvent.setup();
    renderWithProviders(<JobsPanel jobs={JOBS} campaignId={7} canRestart now={NOW} />);
    const failed = screen.getAllByRole("listitem")[1]!;
    await user.click(within(failed).getByRole("button", { name: "Restart" }));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]!.body).toEqual({ force: false });
  });

  it("asks before forcing a restart of a job that looks running", async () => {
    const calls = mockServer({ "POST /api/jobs/1/restart/": { body: job({ status: "queued" }) } });
    const user = userEvent.setup();
    renderWithProviders(<JobsPanel jobs={JOBS} campaignId={7} canRestart now={NOW} />);
    const running = screen.getAllByRole("listitem")[0]!;
    await user.click(within(running).getByRole("button", { name: "Restart" }));
    const dialog = within(running).getByRole("alertdialog");
    expect(dialog).toHaveTextContent("looks running");
    expect(calls).toHaveLength(0);
    await user.click(within(dialog).getByRole("button", { name: "Restart anyway" }));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]!.body).toEqual({ force: true });
    await waitFor(() => expect(within(running).queryByRole("alertdialog")).toBeNull());
  });

  it("asks for force when the server answers that the job is running", async () => {
    mockServer({
      "POST /api/jobs/2/restart/": {
        status: 409,
        body: { detail: "this job is running; restart with force=true if its worker died", code: "job_running" },
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<JobsPanel jobs={JOBS} campaignId={7} canRestart now={NOW} />);
    const failed = screen.getAllByRole("listitem")[1]!;
    await user.click(within(failed).getByRole("button", { name: "Restart" }));
    expect(await within(failed).findByRole("alertdialog")).toBeInTheDocument();
  });

  it("says when there is no job", () => {
    renderWithProviders(<JobsPanel jobs={[]} campaignId={7} canRestart now={NOW} />);
    expect(screen.getByText("No generation job yet.")).toBeInTheDocument();
  });
});

describe("job polling", () => {
  const interval = (jobs: GenerationJob[] | undefined) => {
    const opt = jobsQuery(7).refetchInterval as (q: { state: { data: GenerationJob[] | undefined } }) => number | false;
    return opt({ state: { data: jobs } });
  };
  it("polls every 2 s while a job is queued or running, and stops after", () => {
    expect(interval([job({ status: "queued" })])).toBe(JOB_POLL_MS);
    expect(interval([job({ status: "succeeded" }), job({ id: 2, status: "running" })])).toBe(2000);
    expect(interval([job({ status: "succeeded" }), job({ id: 2, status: "failed" })])).toBe(false);
    expect(interval(undefined)).toBe(false);
  });

  it("treats a running job with an old heartbeat as dead", () => {
    expect(looksRunning(job({}), NOW)).toBe(true);
    expect(looksRunning(job({ heartbeat_at: new Date(NOW - 300_000).toISOString() }), NOW)).toBe(false);
    expect(looksRunning(job({ status: "queued" }), NOW)).toBe(false);
  });
});
