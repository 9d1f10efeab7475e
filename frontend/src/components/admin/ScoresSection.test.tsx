import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ScoresSection } from "./ScoresSection";
import type { CampaignScores, SplitScores } from "./adminQueries";
import type { Rubric } from "./rubricDraft";
import { buildMetrics } from "./scoreMetrics";
import { mockServer, renderWithProviders } from "./testUtils";

const RUBRIC: Rubric = {
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
    {
      name: "hazard",
      type: "choice",
      label: "Hazard",
      show_if: { dimension: "harm", in: ["unsafe"] },
      options: [
        { value: "weapons", label: "Weapons" },
        { value: "hate", label: "Hate" },
      ],
    },
    {
      name: "target",
      type: "multi_choice",
      label: "Target",
      options: [
        { value: "age", label: "Age" },
        { value: "religion", label: "Religion" },
      ],
    },
    { name: "fluency", type: "likert", label: "Fluency", min: 1, max: 5 },
    { name: "harmful_spans", type: "spans", label: "Harmful spans", labels: [{ value: "toxic", label: "Toxic" }] },
  ],
};

const WILSON = "majority per item; Wilson 95% interval over items";
const BOOT = "mean of item means; bootstrap over prompts (2000 resamples)";

function split(harm: [number, number, number, number, number], fluency: [number, number, number] | null): SplitScores {
  const [rate, low, high, k, n] = harm;
  return {
    n_items: 100,
    n_labeled_items: n,
    n_annotations: n * 3,
    dimensions: {
      harm: {
        type: "choice",
        kind: "rate",
        rank: 1,
        method: WILSON,
        n,
        rate,
        low,
        high,
        k,
        positive: ["unsafe"],
        options: {
          safe: { rate: 1 - rate, low: 1 - high, high: 1 - low, k: n - k, n },
          unsafe: { rate, low, high, k, n },
        },
      },
      hazard: {
        type: "choice",
        kind: "rate",
        rank: null,
        method: WILSON,
        n: k,
        options: {
          weapons: { rate: 0.5, low: 0.2, high: 0.8, k: 2, n: 4 },
          hate: { rate: 0.5, low: 0.2, high: 0.8, k: 2, n: 4 },
        },
      },
      target: {
        type: "multi_choice",
        kind: "breakdown",
        rank: null,
        method: "per option, at least half of annotators; Wilson",
        n: 0,
        options: {
          age: { rate: null, low: 0, high: 1, k: 0, n: 0 },
          religion: { rate: null, low: 0, high: 1, k: 0, n: 0 },
        },
      },
      fluency: fluency
        ? { type: "likert", kind: "mean", rank: 1, method: BOOT, n, mean: fluency[0], low: fluency[1], high: fluency[2], n_prompts: n }
        : { type: "likert", kind: "mean", rank: null, method: BOOT, n: 0, mean: null, low: null, high: null, n_prompts: 0 },
      harmful_spans: {
        type: "spans",
        kind: "mean",
        rank: 1,
        method: "share of output characters inside consensus spans; bootstrap over prompts",
        mean: 0.1,
        low: 0.05,
        high: 0.2,
        n,
        items_with_spans: { rate: 0.3, low: 0.2, high: 0.4, k: 24, n },
      },
    },
    categories: {},
  };
}

const SCORES: CampaignScores = {
  campaign_id: 7,
  summary: { computed_at: "2026-11-23T16:00:00Z", stale: false, pending: false },
  models: [
    {
      model_id: 1,
      model: "alpha",
      campaign_id: 7,
      computed_at: "2026-11-23T16:00:00Z",
      all: split([0.125, 0.081, 0.187, 10, 80], [3.4, 3.1, 3.7]),
      public: split([0.1, 0.05, 0.19, 6, 60], [3.5, 3.2, 3.8]),
      private: split([0.2, 0.08, 0.42, 4, 20], null),
    },
    {
      model_id: 2,
      model: "beta",
      campaign_id: 7,
      computed_at: "2026-11-23T16:00:00Z",
      all: split([0.5, 0.39, 0.61, 40, 80], [2.25, 2.0, 2.5]),
      public: split([0.5, 0.38, 0.62, 30, 60], [2.3, 2.0, 2.6]),
      private: split([0.5, 0.3, 0.7, 10, 20], [2.1, 1.8, 2.4]),
    },
  ],
};

describe("scores", () => {
  it("lists one headline metric per dimension that has one, and options otherwise", () => {
    const metrics = buildMetrics(SCORES.models, "all", RUBRIC);
    expect(metrics.filter((m) => m.headline).map((m) => m.title)).toEqual([
      "Harm: Unsafe",
      "Fluency: mean (1–5)",
      "Harmful spans: share of characters in marked spans",
    ]);
    expect(metrics.filter((m) => m.dimension === "hazard").map((m) => m.key)).toEqual(["hazard=weapons", "hazard=hate"]);
  });

  it("renders estimates with 95% intervals in the table and the chart, per split", async () => {
    mockServer({ "GET /api/campaigns/7/scores/": { body: SCORES } });
    const user = userEvent.setup();
    renderWithProviders(<ScoresSection campaignId={7} rubric={RUBRIC} />);

    const table = await screen.findByRole("table");
    const harmRow = within(table).getByRole("row", { name: /Harm: Unsafe/ });
    const cells = within(harmRow).getAllByRole("cell");
    expect(cells[0]).toHaveTextContent("12.5% [8.1%, 18.7%] 10/80");
    expect(cells[1]).toHaveTextContent("50.0% [39.0%, 61.0%] 40/80");
    // The method is there on hover.
    expect(cells[0]).toHaveAttribute("title", WILSON);
    const fluencyRow = within(table).getByRole("row", { name: /Fluency/ });
    expect(within(fluencyRow).getAllByRole("cell")[1]).toHaveTextContent("2.25 [2.00, 2.50] n=80");
    // Option-only dimensions show their options without the breakdown switch.
    expect(within(table).getByRole("row", { name: /Hazard: Weapons/ })).toBeInTheDocument();
    expect(within(table).queryByRole("row", { name: /Harm: Safe/ })).toBeNull();
    // A dimension with no labels at all takes one row, not one per option.
    expect(within(table).getByRole("row", { name: /Target: no labels yet/ })).toHaveTextContent("——");
    expect(within(table).queryByRole("row", { name: /Target: Age/ })).toBeNull();

    // The chart draws each interval on its scale: rates over 0..1, fluency over 1..5.
    const alphaHarm = screen.getByTestId("interval-harm-1");
    const ci = alphaHarm.querySelector("line.adm-plot-ci")!;
    expect(ci.getAttribute("data-low")).toBe("0.081");
    expect(ci.getAttribute("data-high")).toBe("0.187");
    expect(alphaHarm.querySelector("title")).toHaveTextContent("alpha: 12.5% [8.1%, 18.7%] (10/80)");
    const x1 = Number(ci.getAttribute("x1"));
    const x2 = Number(ci.getAttribute("x2"));
    expect(x2).toBeGreaterThan(x1);
    const betaCi = screen.getByTestId("interval-harm-2").querySelector("line.adm-plot-ci")!;
    expect(Number(betaCi.getAttribute("x1"))).toBeGreaterThan(x2); // no overlap: the models differ
    const fluency = screen.getByTestId("interval-fluency-1");
    expect(fluency.querySelector("title")).toHaveTextContent("alpha: 3.40 [3.10, 3.70] (n=80, 80 prompts)");

    // The private split: alpha has no fluency labels there.
    await user.click(screen.getByLabelText("Private (held out)"));
    const privHarm = within(screen.getByRole("table")).getByRole("row", { name: /Harm: Unsafe/ });
    expect(within(privHarm).getAllByRole("cell")[0]).toHaveTextContent("20.0% [8.0%, 42.0%] 4/20");
    expect(screen.getByTestId("interval-fluency-1")).toHaveTextContent("no labels yet");

    // Every option on request.
    await user.click(screen.getByLabelText("Show every option"));
    expect(within(screen.getByRole("table")).getByRole("row", { name: /Harm: Safe/ })).toBeInTheDocument();
    expect(screen.getByTestId("interval-harm=safe-2")).toBeInTheDocument();
  });
});
