import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { mockServer, renderWithProviders } from "../components/admin/testUtils";
import type { LeaderboardPage as Board, LeaderboardRow } from "../components/scores/scoresQueries";
import LeaderboardPage from "./LeaderboardPage";

const METHOD = "consensus label per item; Wilson 95% interval over items";

const ESTIMATE: NonNullable<LeaderboardRow["estimate"]> = {
  estimator: "rogan_gladen",
  method: "noise-corrected (Rogan-Gladen)",
  assumptions: "annotators err on gold items as they do on the rest",
  value: 0.05,
  low: 0.02,
  high: 0.1,
  reason: null,
  ranked_by: "corrected",
  n_labeled: 110,
  n_predicted: 400,
  uncorrected: {
    estimator: "ppi",
    method: "prediction-powered",
    assumptions: "uniform sample",
    value: 0.07,
    low: 0.05,
    high: 0.09,
    reason: null,
  },
  corrected: {
    estimator: "rogan_gladen",
    method: "noise-corrected",
    assumptions: "gold",
    value: 0.05,
    low: 0.02,
    high: 0.1,
    reason: null,
  },
  human: { estimator: "human", method: "human-only", assumptions: "uniform", value: 0.08, low: 0.04, high: 0.13, reason: null },
  dawid_skene: { estimate: 0.06, low: 0.03, high: 0.09, reason: null },
  sampling: {
    design: "random_prefix",
    frontier: 0.3,
    n_random_first: 30,
    n_priority_first: 90,
    n_unrecorded: 0,
    n_sample_labeled: 110,
    reason: null,
  },
};

function row(over: Partial<LeaderboardRow>): LeaderboardRow {
  return {
    rank: 1,
    model_id: 1,
    model: "alpha",
    campaign_id: 7,
    campaign: "Safety",
    dimension: "harm",
    split: "all",
    category: "",
    kind: "rate",
    value: 0.05,
    low: 0.02,
    high: 0.1,
    higher_is_better: false,
    n: 120,
    n_items: 400,
    n_labeled_items: 120,
    n_annotations: 360,
    method: METHOD,
    computed_at: "2026-11-23T16:00:00Z",
    ppi: {
      estimate: 0.06,
      low: 0.04,
      high: 0.08,
      method: "prediction-powered inference",
      reason: null,
      n_labeled: 120,
      n_unlabeled: 280,
    },
    estimate: ESTIMATE,
    held_out: { public: 0.04, private: 0.07, flag: false },
    ...over,
  };
}

function page(rows: LeaderboardRow[], count = rows.length): Board {
  return {
    count,
    next: count > rows.length ? "/api/leaderboard/?offset=25" : null,
    previous: null,
    filters: { dimensions: ["fluency", "harm"], categories: ["medical"] },
    results: rows,
  };
}

describe("LeaderboardPage", () => {
  it("ranks models with intervals, PPI beside the human-only estimate, and the held-out flag", async () => {
    const calls = mockServer({
      "GET /api/campaigns/": { body: { count: 1, next: null, previous: null, results: [{ id: 7, name: "Safety" }] } },
      "GET /api/leaderboard/": ({ path }) => ({
        body: path.includes("split=private")
          ? page([row({ split: "private", value: 0.3, low: 0.2, high: 0.4 })])
          : page([
              row({}),
              row({
                rank: 1,
                model_id: 2,
                model: "beta",
                value: 0.08,
                low: 0.04,
                high: 0.15,
                ppi: { estimate: null, low: null, high: null, method: "ppi", reason: "no classifier predictions for these items" },
                held_out: { public: 0.02, private: 0.2, flag: true, rule: "public better by at least 0.05" },
              }),
              row({ rank: 3, model_id: 3, model: "gamma", value: 0.5, low: 0.4, high: 0.6 }),
              row({
                rank: null,
                model_id: 4,
                model: "delta",
                value: null,
                low: null,
                high: null,
                estimate: {
                  ...ESTIMATE,
                  value: null,
                  low: null,
                  high: null,
                  reason: "12 item(s) were leased before the queue recorded how it picked items",
                },
              }),
            ]),
      }),
    });
    const user = userEvent.setup();
    renderWithProviders(<LeaderboardPage />);
    const table = await screen.findByRole("table", { name: "Leaderboard" });
    const [first, second, third, fourth] = within(table).getAllByRole("row").slice(1) as [
      HTMLElement,
      HTMLElement,
      HTMLElement,
      HTMLElement,
    ];
    const rows = [first, second, third];
    expect(rows.map((r) => within(r).getAllByRole("cell")[0]?.textContent)).toEqual(["1", "1", "3"]);
    expect(first).toHaveTextContent("5.0% [2.0%, 10.0%]");
    expect(first).toHaveTextContent("6.0% [4.0%, 8.0%]");
    expect(first).toHaveTextContent("120 labels / 400 outputs");
    expect(first).toHaveTextContent("noise-corrected (Rogan-Gladen) · ranked by the corrected rate");
    expect(first).toHaveTextContent("110 labeled / 400 predicted");
    expect(first).toHaveTextContent("Corrected5.0% [2.0%, 10.0%]Uncorrected7.0% [5.0%, 9.0%]");
    expect(within(first).getByText("annotators err on gold items as they do on the rest")).toBeInTheDocument();
    expect(within(first).getByRole("link", { name: "alpha" })).toHaveAttribute("href", "/models/1");
    expect(second).toHaveTextContent("no classifier predictions for these items");
    expect(fourth).toHaveTextContent("leased before the queue recorded how it picked items");
    expect(within(second).getByText("Better on public prompts")).toBeInTheDocument();
    expect(within(first).getByRole("img", { name: /alpha: 5.0%/ })).toBeInTheDocument();

    await user.click(screen.getByLabelText("Private (held out)"));
    await waitFor(() => expect(screen.getByRole("table")).toHaveTextContent("30.0% [20.0%, 40.0%]"));
    await user.selectOptions(screen.getByLabelText("Campaign"), "7");
    await user.selectOptions(screen.getByLabelText("Dimension"), "fluency");
    await user.selectOptions(screen.getByLabelText("Category"), "medical");
    await waitFor(() =>
      expect(calls.map((c) => c.path)).toContainEqual(
        expect.stringMatching(/campaign=7.*split=private.*dimension=fluency.*category=medical/),
      ),
    );
  });

  it("pages through long boards", async () => {
    const calls = mockServer({
      "GET /api/campaigns/": { body: { count: 0, next: null, previous: null, results: [] } },
      "GET /api/leaderboard/": { body: page([row({})], 30) },
    });
    const user = userEvent.setup();
    renderWithProviders(<LeaderboardPage />);
    await user.click(await screen.findByRole("button", { name: "Next" }));
    await waitFor(() => expect(calls.some((c) => c.path.includes("offset=25"))).toBe(true));
  });

  it("says so when nothing is scored", async () => {
    mockServer({
      "GET /api/campaigns/": { body: { count: 0, next: null, previous: null, results: [] } },
      "GET /api/leaderboard/": { body: page([]) },
    });
    renderWithProviders(<LeaderboardPage />);
    expect(await screen.findByText("No scores for these filters yet.")).toBeInTheDocument();
  });
});
