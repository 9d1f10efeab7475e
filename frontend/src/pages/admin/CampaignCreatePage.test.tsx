import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import CampaignCreatePage from "./CampaignCreatePage";
import { mockServer, renderWithProviders } from "../../components/admin/testUtils";

const STAFF = { id: 1, username: "ada", is_staff: true, is_superuser: false };
const DEFAULT_RUBRIC = {
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
      positive: ["unsafe"],
    },
    { name: "rationale", type: "text", label: "Rationale", required: false, max_length: 2000 },
  ],
};
const CAMPAIGN = {
  id: 5,
  name: "Safety sweep",
  instructions: "",
  rubric: DEFAULT_RUBRIC,
  overlap: 3,
  gold_rate: 0,
  lease_minutes: 30,
  status: "draft",
  role: "admin",
  created_at: "2025-01-01T00:00:00Z",
  updated_at: "2025-01-01T00:00:00Z",
};
const DETAIL = {
  ...CAMPAIGN,
  counts: { prompts: 12, private_prompts: 2 },
  progress: { items: 0, annotations: 0, target_annotations: 0, items_by_annotations: { "0": 0 }, items_complete: 0 },
};
const MODEL = {
  id: 3,
  name: "smol",
  backend: "transformers",
  path: "/models/smol",
  revision: "",
  default_decoding: {},
  created_at: "2025-01-01T00:00:00Z",
};

const renderWizard = (route = "/campaigns/new") =>
  renderWithProviders(<CampaignCreatePage />, { route, path: "/campaigns/new" });

describe("CampaignCreatePage", () => {
  it("is for staff only", async () => {
    mockServer({ "GET /api/me/": { body: { ...STAFF, is_staff: false } } });
    renderWizard();
    expect(await screen.findByText(/Only staff users can create campaigns/)).toBeInTheDocument();
  });

  it("creates a campaign, showing the server's rubric errors next to the fields", async () => {
    let attempts = 0;
    const calls = mockServer({
      "GET /api/me/": { body: STAFF },
      "GET /api/rubrics/default/": { body: DEFAULT_RUBRIC },
      "GET /api/campaigns/5/": { body: DETAIL },
      "POST /api/campaigns/": () =>
        ++attempts === 1
          ? {
              status: 400,
              body: {
                detail: "the rubric is not valid",
                code: "invalid",
                errors: { "rubric.dimensions[0].options[1]": ["duplicate value 'safe'"] },
              },
            }
          : { status: 201, body: CAMPAIGN },
    });
    const user = userEvent.setup();
    renderWizard();

    await user.click(await screen.findByRole("button", { name: "Next" }));
    expect(screen.getByText("Give the campaign a name.")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Campaign name"), "Safety sweep");
    await user.type(screen.getByLabelText("Instructions for annotators (Markdown)"), "**Careful** <img src=x onerror=alert(1)>");
    await user.click(screen.getByRole("button", { name: "Preview" }));
    const preview = screen.getByRole("region", { name: /preview/ });
    expect(within(preview).getByText("Careful").tagName).toBe("STRONG");
    expect(preview.querySelector("img")?.getAttribute("onerror")).toBeNull();
    await user.click(screen.getByRole("button", { name: "Next" }));

    // Rubric: make the second option's value a duplicate.
    const value = await screen.findByLabelText("Options 2 value");
    await user.clear(value);
    await user.type(value, "safe");
    await user.click(screen.getByRole("button", { name: "Next" }));
    await user.clear(screen.getByLabelText("Overlap (annotators per item)"));
    await user.type(screen.getByLabelText("Overlap (annotators per item)"), "5");
    await user.click(screen.getByRole("button", { name: "Next" }));
    await user.click(screen.getByRole("button", { name: "Create campaign" }));

    // Back on the rubric step, the error sits next to the option.
    const bad = await screen.findByLabelText("Options 2 value");
    await waitFor(() => expect(bad).toHaveAttribute("aria-invalid", "true"));
    expect(document.getElementById(bad.getAttribute("aria-describedby")!)).toHaveTextContent("duplicate value 'safe'");
    expect(screen.getByRole("button", { name: /Rubric.*needs a fix/ })).toHaveAttribute("aria-current", "step");
    const sent = calls.find((c) => c.method === "POST")!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ name: "Safety sweep", overlap: 5, lease_minutes: 30 });
    expect((sent.rubric as typeof DEFAULT_RUBRIC).dimensions[0]!.options![1]!.value).toBe("safe");

    // Fix it (the error goes away with the edit) and create.
    await user.clear(bad);
    await user.type(bad, "unsafe");
    expect(bad).not.toHaveAttribute("aria-invalid");
    await user.click(screen.getByRole("button", { name: /Create and import prompts/ }));
    await user.click(screen.getByRole("button", { name: "Create campaign" }));
    expect(await screen.findByText(/is created/)).toBeInTheDocument();
    expect(await screen.findByText(/It has 12 prompts \(2 private\)/)).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Import prompts" })).toBeInTheDocument();
  }, 30_000);

  it("picks models, adds a member and starts generation, showing parameter errors", async () => {
    let jobAttempts = 0;
    const calls = mockServer({
      "GET /api/me/": { body: STAFF },
      "GET /api/rubrics/default/": { body: DEFAULT_RUBRIC },
      "GET /api/campaigns/5/": { body: DETAIL },
      "GET /api/models/": { body: [MODEL] },
      "GET /api/campaigns/5/members/": { body: [{ user: 1, username: "ada", role: "admin", created_at: "2025-01-01T00:00:00Z" }] },
      "POST /api/campaigns/5/members/": ({ body }) =>
        (body as { username: string }).username === "ghost"
          ? { status: 400, body: { username: ["Object with username=ghost does not exist."] } }
          : { status: 201, body: { user: 2, username: "bob", role: "annotator", created_at: "2025-01-01T00:00:00Z" } },
      "POST /api/campaigns/5/jobs/": () =>
        ++jobAttempts === 1
          ? {
              status: 400,
              body: {
                detail: "the decoding parameters are not valid",
                code: "invalid",
                errors: { "params.temperature": ["must be between 0.0 and 5.0"] },
              },
            }
          : { status: 201, body: { id: 11, status: "queued" } },
    });
    const user = userEvent.setup();
    renderWizard("/campaigns/new?campaign=5&step=4");

    await user.click(await screen.findByLabelText("smol"));
    await user.type(screen.getByLabelText("Temperature"), "9");
    await user.type(screen.getByLabelText("Samples per prompt"), "2");
    await user.click(screen.getByRole("button", { name: "Next" }));

    await user.type(await screen.findByLabelText("Username"), "ghost");
    await user.click(screen.getByRole("button", { name: "Add member" }));
    const username = screen.getByLabelText("Username");
    await waitFor(() => expect(username).toHaveAttribute("aria-invalid", "true"));
    expect(document.getElementById(username.getAttribute("aria-describedby")!)).toHaveTextContent("does not exist");
    await user.clear(username);
    await user.type(username, "bob");
    await user.click(screen.getByRole("button", { name: "Add member" }));
    await waitFor(() => expect(calls.filter((c) => c.path === "/api/campaigns/5/members/" && c.method === "POST")).toHaveLength(2));
    await user.click(screen.getByRole("button", { name: "Next" }));

    await user.click(await screen.findByRole("button", { name: "Start generation" }));
    expect(await screen.findByText(/must be between 0.0 and 5.0/)).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/api/campaigns/5/jobs/")!.body).toEqual({
      model: 3,
      params: { temperature: 9, samples_per_prompt: 2 },
    });
    await user.click(screen.getByRole("button", { name: "Fix the decoding settings in step 5" }));
    const temperature = screen.getByLabelText("Temperature");
    expect(temperature).toHaveAttribute("aria-invalid", "true");
    expect(document.getElementById(temperature.getAttribute("aria-describedby")!.split(" ")[0]!)).toHaveTextContent(
      "must be between 0.0 and 5.0",
    );
    await user.clear(temperature);
    await user.type(temperature, "0.7");
    await user.click(screen.getByRole("button", { name: "Next" }));
    await user.click(screen.getByRole("button", { name: "Next" }));
    await user.click(screen.getByRole("button", { name: "Retry 1 failed" }));
    expect(await screen.findByText("elsewhere")).toBeInTheDocument(); // went to the dashboard route
  }, 30_000);
});
