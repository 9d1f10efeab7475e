import { render, screen } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it, vi } from "vitest";
import App from "../App";
import { campaign, mockApi, renderAt } from "../test/harness";
import MyCampaignsPage from "./MyCampaignsPage";

describe("my campaigns", () => {
  it("lists my campaigns with my own progress and a way in", async () => {
    mockApi({
      "GET /api/campaigns/": {
        body: {
          count: 2,
          next: null,
          previous: null,
          results: [campaign(), campaign({ id: 8, name: "Closed one", status: "closed", role: "viewer" })],
        },
      },
      "GET /api/campaigns/7/my-progress/": { body: { done: 3, available: 9 } },
    });
    renderAt("/", <MyCampaignsPage />, "/");
    expect(await screen.findByText("3 done · 9 left for you")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Continue labeling" })).toHaveAttribute("href", "/campaigns/7/label");
    expect(screen.getByRole("progressbar", { name: /your progress in safety eval/i })).toHaveAttribute("aria-valuenow", "3");
    expect(screen.getByText("Closed one")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Dashboard" })).toHaveAttribute("href", "/campaigns/8");
  });
});

describe("app shell", () => {
  it("sends a logged-out visitor to the login page", async () => {
    mockApi({
      "GET /api/me/": { status: 403, body: { detail: "Authentication credentials were not provided." } },
      "GET /api/campaigns/": { status: 403, body: { detail: "no" } },
    });
    const assign = vi.fn();
    vi.spyOn(window, "location", "get").mockReturnValue({ ...window.location, assign, pathname: "/campaigns/7/label", search: "" });
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <MemoryRouter initialEntries={["/"]}>
          <App />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    await vi.waitFor(() => expect(assign).toHaveBeenCalledWith("/accounts/login/?next=%2Fcampaigns%2F7%2Flabel"));
  });

  it("shows admins the link to the (lazy-loaded) admin pages", async () => {
    mockApi({ "GET /api/me/": { body: { id: 1, username: "boss", is_staff: true, is_superuser: true } } });
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <MemoryRouter initialEntries={["/campaigns/new"]}>
          <App />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    expect(await screen.findByText("boss")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "New campaign" })).toBeInTheDocument();
    expect(screen.queryByText("Page not found")).not.toBeInTheDocument();
  });
});
