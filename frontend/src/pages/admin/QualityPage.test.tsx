import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import QualityPage from "./QualityPage";
import { mockServer, renderWithProviders } from "../../components/admin/testUtils";

const CAMPAIGN = {
  id: 7,
  name: "Sweep",
  instructions: "",
  rubric: { dimensions: [{ name: "harm", type: "choice", options: [{ value: "safe" }, { value: "unsafe" }] }] },
  overlap: 3,
  gold_rate: 0.1,
  lease_minutes: 30,
  status: "labeling",
  role: "admin",
  created_at: "2025-01-01T00:00:00Z",
  updated_at: "2025-01-01T00:00:00Z",
  counts: { prompts: 1, private_prompts: 0 },
  progress: { items: 0, annotations: 0, target_annotations: 0, items_by_annotations: {}, items_complete: 0 },
};

const annotator = (id: number, username: string, extra: Record<string, unknown> = {}) => ({
  annotator_id: id,
  username,
  role: "annotator",
  paused_at: null,
  pause_reason: "",
  n_labels: 40,
  gold_answers: 5,
  gold_correct: 5,
  gold_accuracy: 1,
  agreement: 0.9,
  agreement_n: 40,
  median_time_ms: 12000,
  skipped: 2,
  skip_rate: 0.05,
  confusion: { harm: { safe: { safe: 0.9, unsafe: 0.1 }, unsafe: { safe: 0.2, unsafe: 0.8 } } },
  ...extra,
});

const QUALITY = {
  consensus_method: "dawid_skene",
  refit_scheduled: false,
  refit_running: false,
  last_refit_at: "2025-01-01T10:00:00Z",
  last_refit_s: 0.42,
  last_error: "",
  report_at: "2025-01-01T10:00:01Z",
  n_annotations: 120,
  gold_items: 4,
  dimensions: [
    {
      name: "harm",
      type: "choice",
      fit_method: "dawid_skene",
      alpha: 0.812,
      ci95: [0.75, 0.86],
      n_units: 40,
      level: "nominal",
      flagged: false,
      by_category: { violence: { alpha: 0.7, ci95: [0.5, 0.8], n_units: 12, level: "nominal", flagged: false } },
      kappa: [{ a: 2, b: 3, n: 40, kappa: 0.71 }],
    },
    {
      name: "bias",
      type: "choice",
      fit_method: "wawa",
      alpha: 0.41,
      ci95: [0.3, 0.5],
      n_units: 40,
      level: "nominal",
      flagged: true,
      by_category: {},
    },
  ],
  annotators: [
    annotator(2, "ann"),
    annotator(3, "<b>bo</b>", {
      paused_at: "2025-01-01T09:00:00Z",
      pause_reason: "gold accuracy 40% (2 of 5 gold items right) is under the campaign's minimum of 60%",
      gold_correct: 2,
      gold_accuracy: 0.4,
    }),
  ],
};

const render = () =>
  renderWithProviders(<QualityPage />, { route: "/campaigns/7/quality", path: "/campaigns/:id/quality" });

describe("QualityPage", () => {
  it("shows alpha with its interval, flags low agreement, and explains a pause", async () => {
    mockServer({ "GET /api/campaigns/7/": { body: CAMPAIGN }, "GET /api/campaigns/7/quality/": { body: QUALITY } });
    render();
    const harm = await screen.findByRole("row", { name: /^harm/ });
    expect(within(harm).getByText("0.812")).toBeInTheDocument();
    expect(within(harm).getByText("0.750 – 0.860")).toBeInTheDocument();
    expect(within(harm).getByText(/violence: 0.700/)).toBeInTheDocument();
    const bias = screen.getByRole("row", { name: /^bias/ });
    expect(within(bias).getByText("low agreement")).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Agreement under 0.667 on bias");
    const paused = screen.getByRole("row", { name: /^<b>bo<\/b>/ });
    expect(within(paused).getByText("paused")).toBeInTheDocument();
    expect(within(paused).getByText(/gold accuracy 40%/)).toBeInTheDocument();
    expect(within(paused).getByText("40%")).toBeInTheDocument();
    // An annotator's name is text, never markup.
    expect(document.querySelector("b")).toBeNull();
    expect(screen.getByText("ann · <b>bo</b>")).toBeInTheDocument();
  });

  it("resumes a paused annotator and asks for a refit", async () => {
    const calls = mockServer({
      "GET /api/campaigns/7/": { body: CAMPAIGN },
      "GET /api/campaigns/7/quality/": { body: QUALITY },
      "POST /api/campaigns/7/members/3/resume/": { body: { user_id: 3, paused_at: null } },
      "POST /api/campaigns/7/quality/refit/": { status: 202, body: { scheduled: true } },
    });
    render();
    await userEvent.click(await screen.findByRole("button", { name: "Resume <b>bo</b>" }));
    await waitFor(() => expect(calls.some((c) => c.path === "/api/campaigns/7/members/3/resume/")).toBe(true));
    await userEvent.click(screen.getByRole("button", { name: "Refit consensus now" }));
    await waitFor(() => expect(calls.some((c) => c.path === "/api/campaigns/7/quality/refit/")).toBe(true));
  });

  it("tells a non-admin that quality control is not theirs", async () => {
    const calls = mockServer({ "GET /api/campaigns/7/": { body: { ...CAMPAIGN, role: "viewer" } } });
    render();
    expect(await screen.findByText("Quality control is for the campaign's admins.")).toBeInTheDocument();
    expect(calls.some((c) => c.path.includes("/quality/"))).toBe(false);
  });
});
