import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import ClassifierPage from "./ClassifierPage";
import { mockServer, renderWithProviders } from "../../components/admin/testUtils";

const campaign = (role: string) => ({
  id: 7,
  name: "Sweep",
  instructions: "",
  rubric: { dimensions: [] },
  overlap: 3,
  gold_rate: 0,
  lease_minutes: 30,
  status: "labeling",
  role,
  created_at: "2025-01-01T00:00:00Z",
  updated_at: "2025-01-01T00:00:00Z",
  counts: { prompts: 4, private_prompts: 0 },
  progress: { items: 4, annotations: 0, target_annotations: 12, items_by_annotations: {}, items_complete: 0 },
});

const METRICS = {
  n: 40,
  classes: ["safe", "unsafe"],
  accuracy: 0.8,
  macro_f1: 0.78,
  auroc: 0.86,
  auprc: 0.7,
  ece: 0.061,
  confusion_matrix: [
    [20, 5],
    [3, 12],
  ],
  reliability: [
    { lower: 0.5, upper: 0.6, confidence: 0.55, accuracy: 0.5, count: 10 },
    { lower: 0.9, upper: 1.0, confidence: 0.95, accuracy: 0.93, count: 30 },
  ],
  support: [25, 15],
};

const VERSION = {
  id: 3,
  name: "harm-tfidf_logreg-r5",
  target: "harm",
  run: 5,
  backend: "tfidf_logreg",
  kind: "document",
  is_active: true,
  promoted: true,
  decision: "macro_f1 0.780 better than 0.700 of harm-transformer-r4 on the same 40 evaluation items",
  metrics: METRICS,
  n_predictions: 4,
  created_at: "2025-01-01T00:00:00Z",
  activated_at: "2025-01-01T00:00:00Z",
};

const OVERVIEW = {
  primary_target: "harm",
  queue_strategy: "uncertainty",
  random_share: 0.2,
  retrain_every: 200,
  backends: ["tfidf_logreg", "transformer"],
  targets: [
    { name: "harm", kind: "document", classes: ["safe", "unsafe"], labels: 200, new_labels: 12, in_progress: false, active_version: VERSION },
    { name: "bias", kind: "document", classes: ["none", "subtle", "explicit"], labels: 0, new_labels: 0, in_progress: false, active_version: null },
    { name: "harmful_spans", kind: "span_tagger", classes: ["toxic"], labels: 80, new_labels: 80, in_progress: false, active_version: null },
  ],
};

const RUN = {
  id: 5,
  target: "harm",
  kind: "document",
  backend: "tfidf_logreg",
  status: "succeeded",
  trigger: "auto",
  n_labels: 200,
  label_counts: { safe: 125, unsafe: 75 },
  device: "cpu",
  train_seconds: 2.4,
  metrics: METRICS,
  version: { id: 3, name: VERSION.name, is_active: true, promoted: true, decision: VERSION.decision },
  error: "",
  created_at: "2025-01-01T00:00:00Z",
  started_at: "2025-01-01T00:00:01Z",
  finished_at: "2025-01-01T00:00:05Z",
};

const DETAIL = {
  ...RUN,
  classes: ["safe", "unsafe"],
  hyperparameters: { C: 4 },
  seed: 13,
  labels_sha256: "ab".repeat(32),
  n_train: 140,
  n_calibration: 20,
  n_eval: 40,
  library_versions: { "scikit-learn": "1.9.1" },
  baseline_metrics: { ...METRICS, macro_f1: 0.7 },
};

const PREDICTIONS = {
  count: 1,
  next: null,
  previous: null,
  results: [
    {
      item_id: 11,
      text: "<img src=x onerror=alert(1)> you are all idiots",
      model: "smol",
      split: "public",
      label: "unsafe",
      positive_probability: 0.91,
      probabilities: { safe: 0.09, unsafe: 0.91 },
      priority: 0.2,
    },
  ],
};

function server(role: string, extra: Record<string, { status?: number; body?: unknown }> = {}) {
  return mockServer({
    "GET /api/campaigns/7/": { body: campaign(role) },
    "GET /api/campaigns/7/classifier/": { body: OVERVIEW },
    "GET /api/campaigns/7/classifier/runs/": { body: { count: 1, next: null, previous: null, results: [RUN] } },
    "GET /api/classifier-runs/5/": { body: DETAIL },
    "GET /api/campaigns/7/classifier/predictions/": { body: PREDICTIONS },
    ...extra,
  });
}

const render = () =>
  renderWithProviders(<ClassifierPage />, { route: "/campaigns/7/classifier", path: "/campaigns/:id/classifier" });

describe("ClassifierPage", () => {
  it("shows versions, runs, the run's pictures and predictions as text", async () => {
    server("viewer");
    render();
    const targets = await screen.findByRole("region", { name: "Targets and active versions" });
    expect(within(targets).getByText(VERSION.name)).toBeInTheDocument();
    expect(within(targets).getByText(/20% kept random/)).toBeInTheDocument();
    // The newest run with metrics is shown: its decision, figures and both pictures.
    expect(await screen.findByText(VERSION.decision, { selector: "p" })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: /Reliability of run 5: expected calibration error 0.061/ })).toBeInTheDocument();
    expect(screen.getAllByTestId("reliability-bin")).toHaveLength(2);
    const matrix = screen.getByRole("img", { name: /Confusion matrix of run 5/ });
    expect(within(matrix).getAllByTestId("confusion-cell").map((c) => c.textContent)).toEqual(["20", "5", "3", "12"]);
    expect(screen.getByText("active version before")).toBeInTheDocument();
    // Model output is a text node: the markup shows, nothing is parsed.
    const output = await screen.findByText(/you are all idiots/);
    expect(output).toHaveTextContent("<img src=x onerror=alert(1)>");
    expect(document.querySelector("td img")).toBeNull();
    // Viewers get no retrain button.
    expect(screen.queryByRole("button", { name: "Retrain" })).toBeNull();
  });

  it("lets an admin retrain and shows a refusal", async () => {
    const calls = server("admin", {
      "POST /api/campaigns/7/classifier/runs/": {
        status: 409,
        body: { detail: "a training run for harm is already queued or running", code: "run_in_progress" },
      },
    });
    const user = userEvent.setup();
    render();
    const button = await screen.findByRole("button", { name: "Retrain" });
    await user.selectOptions(screen.getByLabelText("Backend"), "transformer");
    await user.click(button);
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ target: "harm", backend: "transformer" });
    expect(await screen.findByRole("alert")).toHaveTextContent("already queued or running");
  });

  it("offers the span taggers for a spans dimension", async () => {
    const calls = server("admin", {
      "POST /api/campaigns/7/classifier/runs/": { status: 201, body: { ...DETAIL, id: 6, kind: "span_tagger" } },
    });
    const user = userEvent.setup();
    render();
    const button = await screen.findByRole("button", { name: "Retrain" });
    await user.selectOptions(screen.getByLabelText("Target"), "harmful_spans");
    const options = within(screen.getByLabelText("Backend")).getAllByRole("option");
    expect(options.map((o) => o.getAttribute("value"))).toEqual(["span_lexicon", "span_transformer"]);
    await user.click(button);
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ target: "harmful_spans", backend: "span_lexicon" });
  });

  it("tells annotators the page is not theirs", async () => {
    const calls = server("annotator");
    render();
    expect(await screen.findByText(/for the campaign's admins and viewers/)).toBeInTheDocument();
    expect(calls.map((c) => c.path)).toEqual(["/api/campaigns/7/"]);
  });
});
