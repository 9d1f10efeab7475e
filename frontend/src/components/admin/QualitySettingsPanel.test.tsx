import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Schemas } from "../../api/client";
import { QualitySettingsPanel } from "./QualitySettingsPanel";
import { mockServer, renderWithProviders } from "./testUtils";

const CAMPAIGN = {
  id: 7,
  name: "Sweep",
  instructions: "",
  rubric: { dimensions: [] },
  overlap: 3,
  gold_rate: 0.05,
  lease_minutes: 30,
  status: "labeling",
  consensus_method: "dawid_skene",
  gold_min_accuracy: 0.6,
  gold_min_answers: 5,
  queue_strategy: "random",
  random_share: 0.2,
  retrain_every: 200,
  role: "admin",
  created_at: "2025-01-01T00:00:00Z",
  updated_at: "2025-01-01T00:00:00Z",
  counts: { prompts: 1, private_prompts: 0 },
  progress: { items: 0, annotations: 0, target_annotations: 0, items_by_annotations: {}, items_complete: 0 },
} as unknown as Schemas["CampaignDetail"];

describe("QualitySettingsPanel", () => {
  it("shows the current settings and sends only what changed", async () => {
    const calls = mockServer({ "PATCH /api/campaigns/7/": { body: CAMPAIGN } });
    renderWithProviders(<QualitySettingsPanel campaign={CAMPAIGN} />);
    expect(screen.getByLabelText("Consensus method")).toHaveValue("dawid_skene");
    expect(screen.getByLabelText("Random share")).toHaveValue(0.2);
    const save = screen.getByRole("button", { name: "Save quality settings" });
    expect(save).toBeDisabled();
    await userEvent.selectOptions(screen.getByLabelText("Queue order"), "uncertainty");
    const every = screen.getByLabelText("Retrain every N labels");
    await userEvent.clear(every);
    await userEvent.type(every, "50");
    await userEvent.click(save);
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]?.body).toEqual({ queue_strategy: "uncertainty", retrain_every: 50 });
  });

  it("shows the server's reason next to the field", async () => {
    mockServer({
      "PATCH /api/campaigns/7/": {
        status: 400,
        body: {
          detail: "invalid input",
          code: "invalid",
          errors: { gold_min_accuracy: ["too strict for this campaign's gold set"] },
        },
      },
    });
    renderWithProviders(<QualitySettingsPanel campaign={CAMPAIGN} />);
    const field = screen.getByLabelText("Pause below gold accuracy");
    await userEvent.clear(field);
    await userEvent.type(field, "0.99");
    await userEvent.click(screen.getByRole("button", { name: "Save quality settings" }));
    expect(await screen.findByText("too strict for this campaign's gold set")).toBeInTheDocument();
    expect(field).toHaveAttribute("aria-invalid", "true");
  });
});
