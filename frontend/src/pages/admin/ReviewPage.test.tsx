import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import ReviewPage from "./ReviewPage";
import { mockServer, renderWithProviders } from "../../components/admin/testUtils";

const RUBRIC = {
  dimensions: [
    { name: "harm", type: "choice", options: [{ value: "safe", label: "Safe" }, { value: "unsafe", label: "Unsafe" }] },
    { name: "fluency", type: "likert", min: 1, max: 5 },
    { name: "rationale", type: "text" },
  ],
};

const CAMPAIGN = {
  id: 7,
  name: "Sweep",
  instructions: "",
  rubric: RUBRIC,
  overlap: 3,
  gold_rate: 0,
  lease_minutes: 30,
  status: "labeling",
  role: "admin",
  created_at: "2025-01-01T00:00:00Z",
  updated_at: "2025-01-01T00:00:00Z",
  counts: { prompts: 1, private_prompts: 0 },
  progress: { items: 0, annotations: 0, target_annotations: 0, items_by_annotations: {}, items_complete: 0 },
};

const OUTPUT = "<img src=x onerror=alert(1)> Step one: mix the two.";

const QUEUE = {
  count: 1,
  next: null,
  previous: null,
  results: [
    {
      item_id: 11,
      dimension: "harm",
      value: "safe",
      confidence: 0.5,
      method: "majority",
      n_labels: 2,
      updated_at: "2025-01-01T00:00:00Z",
      output: OUTPUT,
      prompt: "How do I clean?",
      split: "public",
      category: "household",
      model_name: "smol",
      is_gold: false,
    },
  ],
};

const ITEM = {
  id: 11,
  output: OUTPUT,
  prompt: "How do I clean?",
  split: "public",
  category: "household",
  model_name: "smol",
  is_gold: false,
  gold_values: null,
  annotations: [
    { annotator_id: 2, username: "ann", values: { harm: "safe", fluency: 4 }, time_spent_ms: 9000, created_at: "2025-01-01T00:00:00Z", gold_correct: null },
    { annotator_id: 3, username: "bo", values: { harm: "unsafe", fluency: 2 }, time_spent_ms: 15000, created_at: "2025-01-01T00:00:00Z", gold_correct: null },
  ],
  consensus: [
    { dimension: "fluency", value: 3, confidence: 0, posterior: null, method: "mean", n_labels: 2 },
    { dimension: "harm", value: "safe", confidence: 0.5, posterior: { safe: 0.5, unsafe: 0.5 }, method: "majority", n_labels: 2 },
  ],
  adjudications: [],
};

const render = () =>
  renderWithProviders(<ReviewPage />, { route: "/campaigns/7/review", path: "/campaigns/:id/review" });

describe("ReviewPage", () => {
  it("lists the least confident items, shows labels side by side and adjudicates", async () => {
    const calls = mockServer({
      "GET /api/campaigns/7/": { body: CAMPAIGN },
      "GET /api/campaigns/7/review/": { body: QUEUE },
      "GET /api/campaigns/7/review/11/": { body: ITEM },
      "POST /api/campaigns/7/review/11/adjudicate/": {
        status: 201,
        body: { item_id: 11, dimension: "harm", value: "unsafe", note: "", fitted: null, adjudicated_by: "admin", adjudicated_at: "2025-01-01T00:00:00Z" },
      },
    });
    render();
    const queued = await screen.findByRole("button", { name: /Step one/ });
    expect(queued).toHaveTextContent("safe · 50% of 2 · majority");
    expect(calls.find((c) => c.path.startsWith("/api/campaigns/7/review/?"))?.path).toContain("dimension=harm");
    // Free text has no consensus, so it is not offered for review.
    expect(screen.queryByRole("option", { name: "rationale" })).toBeNull();
    await userEvent.click(queued);
    const output = await screen.findByTestId("review-output");
    expect(output.textContent).toBe(OUTPUT);
    expect(document.querySelector("img")).toBeNull();
    const bo = screen.getByRole("row", { name: /^bo/ });
    expect(within(bo).getByText("unsafe")).toBeInTheDocument();
    const consensus = screen.getByRole("row", { name: /^Consensus/ });
    expect(within(consensus).getByText("majority, 50%")).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText("Final harm"), "unsafe");
    await userEvent.type(screen.getByLabelText("Note"), "a recipe for chlorine gas");
    await userEvent.click(screen.getByRole("button", { name: "Set final value" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const post = calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({ dimension: "harm", value: "unsafe", note: "a recipe for chlorine gas" });
  });

  it("shows the server's reason when the value is refused, and makes an item gold", async () => {
    const calls = mockServer({
      "GET /api/campaigns/7/": { body: CAMPAIGN },
      "GET /api/campaigns/7/review/": { body: QUEUE },
      "GET /api/campaigns/7/review/11/": { body: ITEM },
      "POST /api/campaigns/7/review/11/adjudicate/": {
        status: 400,
        body: { detail: "the value does not fit the dimension", code: "invalid", errors: { value: ["'x' is not one of ['safe', 'unsafe']"] } },
      },
      "PUT /api/campaigns/7/items/11/gold/": { body: { id: 11, is_gold: true, gold_values: { harm: "safe" }, open_slots: 0 } },
    });
    render();
    await userEvent.click(await screen.findByRole("button", { name: /Step one/ }));
    await userEvent.selectOptions(await screen.findByLabelText("Final harm"), "safe");
    await userEvent.click(screen.getByRole("button", { name: "Set final value" }));
    expect(await screen.findByText("'x' is not one of ['safe', 'unsafe']")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Make gold with the consensus values" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
    // Only the categorical consensus becomes the expected answer.
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ gold_values: { harm: "safe" } });
  });
});
