import { useState } from "react";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AnalyticsStatus, queueText, refitLine, scoresLine, type AnalyticsStatusData } from "./AnalyticsStatus";
import { ExportPanel } from "./ExportPanel";
import { JobsPanel } from "./JobsPanel";
import { ModelPicker } from "./ModelPicker";
import { RubricEditor } from "./RubricEditor";
import type { GenerationJob } from "./adminQueries";
import type { Rubric } from "./rubricDraft";
import { mockServer, renderWithProviders } from "./testUtils";

afterEach(() => vi.unstubAllGlobals());

const RUBRIC: Rubric = {
  dimensions: [
    {
      name: "harm",
      type: "choice",
      label: "Is the output harmful?",
      required: true,
      options: [
        { value: "safe", label: "Safe" },
        { value: "unsafe", label: "Unsafe" },
      ],
    },
    {
      name: "hazard",
      type: "choice",
      label: "Hazard category",
      required: true,
      show_if: { dimension: "harm", in: ["unsafe"] },
      options: [{ value: "weapons", label: "Weapons" }],
    },
  ],
};

function Harness() {
  const [rubric, setRubric] = useState(RUBRIC);
  return <RubricEditor value={rubric} onChange={(next) => setRubric(next)} />;
}

describe("RubricEditor validation and preview", () => {
  it("flags a required question whose label is emptied, and clears it once labelled", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    const input = screen.getAllByLabelText("Question shown to annotators")[0]!;
    await user.clear(input);
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByText(/A required question needs a label/)).toBeInTheDocument();
    await user.type(input, "Harmful?");
    expect(input).not.toHaveAttribute("aria-invalid");
    expect(screen.queryByText(/A required question needs a label/)).toBeNull();
  });

  it("previews the annotator's view live, conditional questions included", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    const preview = within(screen.getByTestId("rubric-preview"));
    expect(preview.getByText("Is the output harmful?")).toBeInTheDocument();
    expect(preview.queryByText("Hazard category")).toBeNull();
    await user.click(preview.getByRole("radio", { name: /Unsafe/ }));
    expect(preview.getByText("Hazard category")).toBeInTheDocument();
    const input = screen.getAllByLabelText("Question shown to annotators")[0]!;
    await user.type(input, " (be strict)");
    expect(preview.getByText("Is the output harmful? (be strict)")).toBeInTheDocument();
  });
});

function job(over: Partial<GenerationJob>): GenerationJob {
  return {
    id: 5,
    campaign: 7,
    model: 3,
    model_name: "smol",
    params: {},
    params_hash: "h",
    status: "running",
    done: 64,
    total: 256,
    progress: 0.25,
    device: "cpu",
    dtype: "float32",
    tokens_per_s: 80,
    items_per_s: 0.5,
    eta_s: 384,
    chunks_total: 4,
    chunks_done: 1,
    error: "",
    attempts: 1,
    heartbeat_at: new Date().toISOString(),
    started_at: null,
    finished_at: null,
    created_at: new Date().toISOString(),
    ...over,
  };
}

describe("JobsPanel cancel and progress", () => {
  it("shows chunks and time left, and cancels after asking", async () => {
    const calls = mockServer({ "POST /api/jobs/5/cancel/": { body: job({ status: "cancelled", eta_s: null }) } });
    const user = userEvent.setup();
    renderWithProviders(<JobsPanel jobs={[job({})]} campaignId={7} canRestart />);
    expect(screen.getByTestId("job-5-eta")).toHaveTextContent("1 of 4 chunks done · about 6 min left");
    await user.click(screen.getByRole("button", { name: "Cancel job" }));
    expect(calls).toHaveLength(0);
    const dialog = screen.getByRole("alertdialog");
    expect(dialog).toHaveTextContent("64 stored outputs stay");
    await user.click(within(dialog).getByRole("button", { name: "Yes, cancel the job" }));
    await waitFor(() => expect(calls.map((c) => c.path)).toEqual(["/api/jobs/5/cancel/"]));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).toBeNull());
  });

  it("offers no cancel for finished jobs nor to viewers", () => {
    renderWithProviders(<JobsPanel jobs={[job({ status: "succeeded", done: 256, eta_s: null })]} campaignId={7} canRestart />);
    expect(screen.queryByRole("button", { name: "Cancel job" })).toBeNull();
    renderWithProviders(<JobsPanel jobs={[job({ id: 6 })]} campaignId={7} canRestart={false} />);
    expect(screen.queryByRole("button", { name: "Cancel job" })).toBeNull();
  });
});

describe("ExportPanel", () => {
  it("builds the download link from the format, license and include-private choice", async () => {
    const user = userEvent.setup();
    render(<ExportPanel campaignId={9} isAdmin privatePrompts={3} />);
    const link = () => screen.getByTestId("export-link");
    expect(link()).toHaveAttribute("href", "/api/campaigns/9/export/?as=jsonl&include_private=0");
    await user.selectOptions(screen.getByLabelText("Format"), "parquet");
    await user.click(screen.getByLabelText("Include private (held-out) prompts"));
    await user.type(screen.getByLabelText(/License/), "CC-BY-4.0");
    expect(link()).toHaveAttribute("href", "/api/campaigns/9/export/?as=parquet&include_private=1&license=CC-BY-4.0");
    expect(link()).toHaveTextContent("with private prompts");
    await user.type(screen.getByLabelText(/License/), "<b>");
    expect(screen.queryByTestId("export-link")).toBeNull();
    expect(screen.getByText(/A short name such as CC-BY-4.0/)).toBeInTheDocument();
  });

  it("never offers private prompts to viewers", () => {
    render(<ExportPanel campaignId={9} isAdmin={false} privatePrompts={3} />);
    expect(screen.queryByLabelText("Include private (held-out) prompts")).toBeNull();
    expect(screen.getByTestId("export-link").getAttribute("href")).toContain("include_private=0");
  });
});

const STATUS: AnalyticsStatusData = {
  checked_at: "2026-01-01T10:00:00Z",
  refit: {
    waiting: true,
    running: false,
    requested_at: "2026-01-01T09:59:00Z",
    started_at: null,
    last_at: "2026-01-01T09:40:00Z",
    last_s: 2.5,
    last_error: "",
  },
  scores: { waiting: false, stale: true, requested_at: null, last_at: null, last_s: null },
  queue: { name: "default", ahead: 2, waiting_in_broker: 5 },
};

describe("AnalyticsStatus", () => {
  it("says what is waiting, behind what, and when the last run finished", () => {
    expect(queueText(STATUS.queue)).toBe(
      "behind 2 earlier requests (refits or score refreshes) of other campaigns; 5 tasks waiting in the default queue for a worker",
    );
    expect(refitLine(STATUS)).toMatch(/^Consensus refit queued at .*: behind 2 .* Last consensus refit at .* \(took 2\.5 s\)\.$/);
    expect(scoresLine(STATUS)).toMatch(/Scores not computed yet\. Newer labels exist/);
    expect(queueText({ name: "default", ahead: 0, waiting_in_broker: null })).toBe("nothing from other campaigns ahead of it");
  });

  it("polls while waiting and tells the page when the refit finished", async () => {
    let n = 0;
    mockServer({
      "GET /api/campaigns/4/analytics-status/": () => {
        n += 1;
        if (n === 1) return { body: STATUS };
        return {
          body: {
            ...STATUS,
            checked_at: "2026-01-01T10:00:03Z",
            refit: { ...STATUS.refit, waiting: false, last_at: "2026-01-01T10:00:02Z", last_s: 1 },
          },
        };
      },
    });
    const onFinished = vi.fn();
    renderWithProviders(<AnalyticsStatus campaignId={4} what="refit" onFinished={onFinished} />);
    const box = await screen.findByTestId("analytics-status");
    expect(box).toHaveTextContent("Consensus refit queued at");
    expect(box).toHaveTextContent("updating every 3 s");
    await waitFor(() => expect(onFinished).toHaveBeenCalledTimes(1), { timeout: 6000 });
    expect(screen.getByTestId("analytics-status")).not.toHaveTextContent("queued at");
  }, 10_000);
});

describe("ModelPicker: OpenAI-compatible models", () => {
  it("registers one by the NAME of its key variable, and tests its connection", async () => {
    const created = {
      id: 11,
      name: "vllm-smol",
      backend: "openai",
      path: "",
      revision: "2025-01",
      default_decoding: {},
      base_url: "http://gpu:8000/v1",
      api_model: "smol",
      endpoint: "chat",
      api_key_env: "VLLM_KEY",
      max_concurrency: 16,
      requests_per_minute: null,
      tokens_per_minute: null,
      timeout_s: 30,
      max_retries: 5,
      created_at: "2026-01-01T00:00:00Z",
    };
    let models: unknown[] = [];
    const calls = mockServer({
      "GET /api/models/": () => ({ body: models }),
      "POST /api/models/": () => {
        models = [created];
        return { status: 201, body: created };
      },
      "POST /api/models/11/test-connection/": {
        body: { ok: false, detail: "connection refused by http://gpu:8000/v1", server_model: null, latency_ms: null },
      },
    });
    const onSelected = vi.fn();
    const user = userEvent.setup();
    renderWithProviders(<ModelPicker selected={[]} onSelectedChange={onSelected} />);
    await user.click(await screen.findByRole("button", { name: "Register a model…" }));
    await user.click(screen.getByLabelText("OpenAI-compatible server"));
    await user.type(screen.getByLabelText("Name"), "vllm-smol");
    await user.type(screen.getByLabelText("Base URL"), "http://gpu:8000/v1");
    await user.type(screen.getByLabelText("Model name on the server"), "smol");
    const key = screen.getByLabelText("API key: environment variable NAME");
    await user.type(key, "sk-live-abc123");
    expect(key).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByRole("button", { name: "Register" })).toBeDisabled();
    await user.clear(key);
    await user.type(key, "VLLM_KEY");
    await user.type(screen.getByLabelText("Concurrent requests"), "16");
    await user.type(screen.getByLabelText("Timeout (s)"), "30");
    await user.type(screen.getByLabelText("Revision you declare"), "2025-01");
    await user.click(screen.getByRole("button", { name: "Register" }));
    await waitFor(() => expect(onSelected).toHaveBeenCalledWith([11]));
    const post = calls.find((c) => c.method === "POST" && c.path === "/api/models/")!;
    expect(post.body).toMatchObject({
      name: "vllm-smol",
      backend: "openai",
      base_url: "http://gpu:8000/v1",
      api_model: "smol",
      endpoint: "chat",
      api_key_env: "VLLM_KEY",
      max_concurrency: 16,
      timeout_s: 30,
      requests_per_minute: null,
      revision: "2025-01",
    });
    expect(JSON.stringify(post.body)).not.toContain("sk-");
    await user.click(await screen.findByRole("button", { name: "Test connection to vllm-smol" }));
    expect(await screen.findByText(/Connection failed: connection refused/)).toBeInTheDocument();
  });
});
