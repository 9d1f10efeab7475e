import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import CampaignDashboardPage from "./CampaignDashboardPage";
import { mockServer, renderWithProviders, stubResizeObserver } from "../../components/admin/testUtils";

const RUBRIC = {
  dimensions: [
    {
      name: "harm",
      type: "choice",
      label: "Harm",
      options: [
        { value: "safe", label: "Safe" },
        { value: "unsafe", label: "Unsafe" },
      ],
      positive: ["unsafe"],
    },
  ],
};

const detail = (role: string) => ({
  id: 7,
  name: "Sweep <b>1</b>",
  instructions: "Rate it.",
  rubric: RUBRIC,
  overlap: 3,
  gold_rate: 0,
  lease_minutes: 30,
  status: "labeling",
  role,
  created_at: "2025-01-01T00:00:00Z",
  updated_at: "2025-01-01T00:00:00Z",
  counts: { prompts: 40, private_prompts: 10 },
  progress: { items: 80, annotations: 100, target_annotations: 240, items_by_annotations: { "0": 20, "1": 30, "2": 20, "3": 10 }, items_complete: 10 },
});

const DASHBOARD = {
  progress: detail("admin").progress,
  throughput: Array.from({ length: 48 }, (_, h) => ({
    hour: new Date(Date.UTC(2025, 0, 1, h)).toISOString(),
    annotations: h % 5,
  })),
  annotators: [
    { annotator_id: 2, username: "bob", submitted: 60, skipped: 15, active: 1, skip_rate: 0.2, median_seconds: 41.5 },
    { annotator_id: 3, username: "cy", submitted: 0, skipped: 0, active: 1, skip_rate: null, median_seconds: null },
  ],
};

const JOBS = [
  {
    id: 1,
    campaign: 7,
    model: 3,
    model_name: "smol",
    params: { temperature: 0.7 },
    params_hash: "h",
    status: "succeeded",
    done: 40,
    total: 40,
    progress: 1,
    device: "cpu",
    dtype: "float32",
    tokens_per_s: 55.1,
    items_per_s: 0.5,
    error: "",
    attempts: 1,
    heartbeat_at: null,
    started_at: null,
    finished_at: null,
    created_at: "2025-01-01T00:00:00Z",
  },
];

const rate = (r: number, lo: number, hi: number, k: number, n: number) => ({ rate: r, low: lo, high: hi, k, n });
const split = {
  n_items: 40,
  n_labeled_items: 30,
  n_annotations: 90,
  dimensions: {
    harm: {
      type: "choice",
      method: "majority per item; Wilson 95% interval over items",
      ...rate(0.1, 0.035, 0.256, 3, 30),
      positive: ["unsafe"],
      options: { safe: rate(0.9, 0.744, 0.965, 27, 30), unsafe: rate(0.1, 0.035, 0.256, 3, 30) },
    },
  },
};
const SCORES = { campaign_id: 7, models: [{ model_id: 3, model: "smol", campaign_id: 7, all: split, public: split, private: split }] };

function serve(role: string, extra: Record<string, unknown> = {}) {
  return mockServer({
    "GET /api/campaigns/7/": { body: detail(role) },
    "GET /api/campaigns/7/jobs/": { body: JOBS },
    "GET /api/campaigns/7/dashboard/": { body: DASHBOARD },
    "GET /api/campaigns/7/scores/": { body: SCORES },
    ...(extra as object),
  });
}

const renderPage = () => renderWithProviders(<CampaignDashboardPage />, { route: "/campaigns/7", path: "/campaigns/:id" });

describe("CampaignDashboardPage", () => {
  beforeEach(() => stubResizeObserver());

  it("shows jobs, progress, annotators and scores", async () => {
    serve("viewer");
    renderPage();
    expect(await screen.findByRole("heading", { level: 1, name: "Sweep <b>1</b>" })).toBeInTheDocument();
    expect(await screen.findByText("40 / 40 (100%)")).toBeInTheDocument();
    const annotators = within(await screen.findByRole("region", { name: "Annotators" }));
    const bob = annotators.getByRole("row", { name: /bob/ });
    expect(within(bob).getAllByRole("cell").map((c) => c.textContent)).toEqual(["60", "15", "20%", "41.5", "1"]);
    expect(annotators.getByRole("row", { name: /cy/ })).toHaveTextContent("—");
    const progress = within(screen.getByRole("region", { name: "Labeling progress" }));
    expect(await progress.findByText("100 / 240")).toBeInTheDocument();
    expect(progress.getByRole("row", { name: /3 annotations/ })).toHaveTextContent("10 items");
    expect(await screen.findByText(/Annotations per hour, last 48 hours/)).toBeInTheDocument();
    const scores = within(screen.getByRole("region", { name: "Scores per model" }));
    const harm = await scores.findByRole("row", { name: /Harm: Unsafe/ });
    expect(harm).toHaveTextContent("10.0% [3.5%, 25.6%] 3/30");
    // Viewers neither restart jobs nor change settings.
    expect(screen.queryByRole("button", { name: "Restart" })).toBeNull();
    expect(screen.queryByRole("region", { name: "Settings" })).toBeNull();
  });

  it("lets admins change settings and shows the server's errors", async () => {
    const calls = serve("admin", {
      "PATCH /api/campaigns/7/": {
        status: 400,
        body: { overlap: ["Items already have more annotations than that."] },
      },
    });
    const user = userEvent.setup();
    renderPage();
    const settings = within(await screen.findByRole("region", { name: "Settings" }));
    const overlap = settings.getByLabelText("Overlap (annotators per item)");
    await user.clear(overlap);
    await user.type(overlap, "2");
    await user.selectOptions(settings.getByLabelText("Status"), "closed");
    await user.click(settings.getByRole("button", { name: "Save settings" }));
    await waitFor(() => expect(overlap).toHaveAttribute("aria-invalid", "true"));
    expect(document.getElementById(overlap.getAttribute("aria-describedby")!)).toHaveTextContent("more annotations than that");
    expect(calls.find((c) => c.method === "PATCH")!.body).toEqual({ overlap: 2, status: "closed" });
    // Only moves the server allows are offered.
    const options = within(settings.getByLabelText("Status")).getAllByRole("option").map((o) => o.getAttribute("value"));
    expect(options).toEqual(["labeling", "closed"]);
  });

  it("sends annotators to the workspace", async () => {
    serve("annotator");
    renderPage();
    expect(await screen.findByText(/for the campaign's admins and viewers/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Open the labeling workspace" })).toHaveAttribute("href", "/campaigns/7/label");
  });
});
