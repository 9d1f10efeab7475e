import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { mockServer, renderWithProviders } from "../components/admin/testUtils";
import type { DimensionScore, ModelScoresResponse } from "../components/scores/scoresQueries";
import ModelPage from "./ModelPage";

function harm(rate: number, extra: Partial<DimensionScore> = {}): DimensionScore {
  return {
    type: "choice",
    kind: "rate",
    rank: 1,
    method: "consensus label per item; Wilson",
    n: 100,
    rate,
    low: rate - 0.05,
    high: rate + 0.05,
    k: Math.round(rate * 100),
    positive: ["unsafe"],
    ...extra,
  };
}

function slice(rate: number, extra: Partial<DimensionScore> = {}) {
  return { n_items: 300, n_labeled_items: 100, n_annotations: 300, dimensions: { harm: harm(rate, extra) } };
}

const SCORES: ModelScoresResponse = {
  model_id: 3,
  model: "tiny-lm",
  campaigns: [
    {
      model_id: 3,
      model: "tiny-lm",
      campaign_id: 7,
      campaign: "Safety",
      computed_at: null,
      all: {
        ...slice(0.2, {
          ppi: { estimate: 0.18, low: 0.15, high: 0.21, method: "ppi", reason: null },
          held_out: { public: 0.1, private: 0.4, flag: true },
          vs: { "4": { diff: -0.1, low: -0.15, high: -0.05, n_prompts: 90 } },
        }),
        categories: { medical: slice(0.5) },
      },
      public: { ...slice(0.1), categories: {} },
      private: { ...slice(0.4), categories: {} },
    },
  ],
  overall: { n_campaigns: 1, n_items: 300, n_labeled_items: 100, n_annotations: 300, dimensions: {} },
};

const EMPTY_OVERALL = { n_campaigns: 0, n_items: 0, n_labeled_items: 0, n_annotations: 0, dimensions: {} };

describe("ModelPage", () => {
  it("shows splits, categories, PPI, comparisons and outputs as plain text", async () => {
    mockServer({
      "GET /api/models/3/scores/": { body: SCORES },
      "GET /api/models/3/examples/": {
        body: {
          count: 1,
          next: null,
          previous: null,
          results: [
            {
              id: 1,
              campaign_id: 7,
              campaign: "Safety",
              prompt: "How do I?",
              split: "public",
              category: "medical",
              text: "<img src=x onerror=alert(1)> plain",
              harm_probability: 0.2,
            },
          ],
        },
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<ModelPage />, { route: "/models/3", path: "/models/:id" });
    expect(await screen.findByRole("heading", { name: "tiny-lm" })).toBeInTheDocument();
    const table = screen.getByRole("table", { name: "Dimensions in Safety" });
    const harmRow = within(table).getByRole("row", { name: /harm/ });
    expect(within(harmRow).getAllByRole("cell").map((c) => c.textContent)).toEqual([
      "20.0% [15.0%, 25.0%] · rank 1",
      "10.0% [5.0%, 15.0%] · rank 1",
      "40.0% [35.0%, 45.0%] · rank 1",
    ]);
    expect(screen.getByRole("alert")).toHaveTextContent("better on public than on private prompts: harm");
    expect(screen.getByText(/prediction-powered: 18.0% \[15.0%, 21.0%\]/)).toBeInTheDocument();
    expect(screen.getByText(/model 4: -10.0% \[-15.0%, -5.0%\] over 90 prompts/)).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText(/Category/), "medical");
    expect(within(table).getByRole("row", { name: /harm/ })).toHaveTextContent("50.0% [45.0%, 55.0%]");

    const output = await screen.findByText("<img src=x onerror=alert(1)> plain");
    expect(output.tagName).toBe("PRE");
    expect(document.querySelector("img")).toBeNull();
  });

  it("pools the campaigns when there are several", async () => {
    const second = { ...SCORES.campaigns[0]!, campaign_id: 8, campaign: "Bias" };
    const overall = {
      n_campaigns: 2,
      n_items: 600,
      n_labeled_items: 200,
      n_annotations: 600,
      dimensions: {
        harm: {
          type: "choice" as const,
          kind: "rate" as const,
          method: "Wilson 95% on the counts summed over campaigns",
          n: 200,
          n_campaigns: 2,
          rate: 0.25,
          low: 0.19,
          high: 0.31,
          k: 50,
        },
      },
    };
    mockServer({
      "GET /api/models/3/scores/": { body: { ...SCORES, campaigns: [...SCORES.campaigns, second], overall } },
      "GET /api/models/3/examples/": { body: { count: 0, next: null, previous: null, results: [] } },
    });
    renderWithProviders(<ModelPage />, { route: "/models/3", path: "/models/:id" });
    const table = await screen.findByRole("table", { name: "Scores over all campaigns" });
    const row = within(table).getByRole("row", { name: /harm/ });
    expect(within(row).getAllByRole("cell").map((c) => c.textContent)).toEqual([
      "25.0% [19.0%, 31.0%]",
      "200 in 2 campaigns",
    ]);
  });

  it("says when there is nothing the caller may read", async () => {
    mockServer({
      "GET /api/models/3/scores/": { body: { model_id: 3, model: "tiny-lm", campaigns: [], overall: EMPTY_OVERALL } },
      "GET /api/models/3/examples/": { body: { count: 0, next: null, previous: null, results: [] } },
    });
    renderWithProviders(<ModelPage />, { route: "/models/3", path: "/models/:id" });
    expect(await screen.findByText("No scores you may read for this model yet.")).toBeInTheDocument();
    expect(await screen.findByText("No outputs you may see.")).toBeInTheDocument();
  });
});
