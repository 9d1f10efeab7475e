import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Schemas } from "../api/client";
import { mockServer, renderWithProviders } from "../components/admin/testUtils";
import { BlurGate } from "./BlurGate";
import { CareSettingsPanel } from "./CareSettingsPanel";
import { ContentWarning } from "./ContentWarning";

const CAMPAIGN = {
  id: 7,
  name: "Sweep",
  instructions: "",
  rubric: { dimensions: [] },
  overlap: 3,
  lease_minutes: 30,
  status: "labeling",
  content_warning: "",
  blur_outputs: "likely_harmful",
  blur_threshold: 0.5,
  daily_item_limit: 0,
  daily_minute_limit: 0,
  break_every_minutes: 0,
  hazard_categories: ["self-harm", "hate"],
  role: "admin",
  created_at: "2025-01-01T00:00:00Z",
  updated_at: "2025-01-01T00:00:00Z",
} as unknown as Schemas["CampaignDetail"];

const STATUS = {
  state: "warning",
  limit: null,
  items_today: 0,
  minutes_today: 0,
  daily_item_limit: 0,
  daily_minute_limit: 0,
  break_every_minutes: 0,
  minutes_since_break: 0,
  items_left_today: null,
  opt_outs: [],
};

describe("CareSettingsPanel", () => {
  it("sends only what changed, categories one per line", async () => {
    const calls = mockServer({ "PATCH /api/campaigns/7/": { body: CAMPAIGN } });
    renderWithProviders(<CareSettingsPanel campaign={CAMPAIGN} />);
    const save = screen.getByRole("button", { name: "Save care settings" });
    expect(save).toBeDisabled();
    const items = screen.getByLabelText("Items per annotator per day");
    await userEvent.clear(items);
    await userEvent.type(items, "100");
    const categories = screen.getByLabelText(/Hazard categories annotators may opt out of/);
    await userEvent.type(categories, "\n\nweapons\n");
    await userEvent.click(save);
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]?.body).toEqual({ daily_item_limit: 100, hazard_categories: ["self-harm", "hate", "weapons"] });
  });

  it("shows the server's reason by the categories with their line", async () => {
    mockServer({
      "PATCH /api/campaigns/7/": {
        status: 400,
        body: { detail: "invalid", code: "invalid", errors: { "hazard_categories.1": ["This field may not be blank."] } },
      },
    });
    renderWithProviders(<CareSettingsPanel campaign={CAMPAIGN} />);
    await userEvent.type(screen.getByLabelText(/Hazard categories/), "\nx");
    await userEvent.click(screen.getByRole("button", { name: "Save care settings" }));
    expect(await screen.findByText("line 2: This field may not be blank.")).toBeInTheDocument();
  });
});

describe("BlurGate", () => {
  it("blurs a sensitive output until V or a click, and leaves others alone", async () => {
    mockServer({ "GET /api/care/preferences/": { body: { blur_outputs: true } } });
    const { unmount } = renderWithProviders(
      <BlurGate campaign={CAMPAIGN} sensitive>
        <p>harmful words</p>
      </BlurGate>,
    );
    const gate = screen.getByTestId("care-blur");
    expect(gate).toHaveAttribute("data-blurred", "true");
    act(() => {
      fireEvent.keyDown(window, { key: "v" });
    });
    expect(gate).toHaveAttribute("data-blurred", "false");
    unmount();

    renderWithProviders(
      <BlurGate campaign={CAMPAIGN} sensitive={false}>
        <p>plain words</p>
      </BlurGate>,
    );
    expect(screen.getByTestId("care-blur")).toHaveAttribute("data-blurred", "false");
  });

  it("does not blur for someone who turned blur off", async () => {
    mockServer({ "GET /api/care/preferences/": { body: { blur_outputs: false } } });
    renderWithProviders(
      <BlurGate campaign={CAMPAIGN} sensitive>
        <p>harmful words</p>
      </BlurGate>,
    );
    await waitFor(() => expect(screen.getByTestId("care-blur")).toHaveAttribute("data-blurred", "false"));
  });
});

describe("ContentWarning", () => {
  it("renders the Markdown sanitized, saves opt-outs, then acknowledges", async () => {
    const mine = {
      content_warning: "Contains **slurs**. <img src=x onerror=alert(1)>",
      warning_acknowledged_at: null,
      blur_outputs: "off",
      blur_preference: true,
      hazard_categories: ["self-harm", "hate"],
      hazard_opt_outs: [],
      status: STATUS,
    };
    const calls = mockServer({
      "GET /api/campaigns/7/care/": { body: mine },
      "PATCH /api/campaigns/7/care/": { body: { ...mine, hazard_opt_outs: ["hate"] } },
      "POST /api/campaigns/7/care/acknowledge/": { body: { ...mine, warning_acknowledged_at: "2025-01-01T00:00:00Z" } },
    });
    const { container } = renderWithProviders(<ContentWarning campaignId={7} campaignName="Sweep" />);
    expect(await screen.findByText("slurs")).toBeInTheDocument();
    expect(container.querySelector("img")?.getAttribute("onerror")).toBeFalsy();
    await userEvent.click(screen.getByRole("checkbox", { name: "hate" }));
    await userEvent.click(screen.getByRole("button", { name: "I understand, continue" }));
    await waitFor(() => expect(calls.map((c) => `${c.method} ${c.path}`)).toContain("POST /api/campaigns/7/care/acknowledge/"));
    const patch = calls.find((c) => c.method === "PATCH");
    expect(patch?.body).toEqual({ hazard_opt_outs: ["hate"] });
  });
});
