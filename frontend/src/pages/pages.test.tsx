import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
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
      "GET /api/campaigns/7/my-progress/": { body: { done: 3, available: 9, available_capped: false } },
    });
    renderAt("/", <MyCampaignsPage />, "/");
    expect(await screen.findByText("3 done · 9 left for you")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Continue labeling" })).toHaveAttribute("href", "/campaigns/7/label");
    expect(screen.getByRole("progressbar", { name: /your progress in safety eval/i })).toHaveAttribute("aria-valuenow", "3");
    expect(screen.getByText("Closed one")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Dashboard" })).toHaveAttribute("href", "/campaigns/8");
  });

  it("pages through many campaigns with Show more", async () => {
    const many = Array.from({ length: 25 }, (_, i) => campaign({ id: 100 + i, name: `Campaign ${i + 1}`, status: "closed", role: "viewer" }));
    const { fetchMock } = mockApi({
      // The harness records paths only; the query string is on the request itself.
      "GET /api/campaigns/": () => {
        const url = new URL((fetchMock.mock.calls.at(-1)![0] as Request).url);
        const limit = Number(url.searchParams.get("limit"));
        const offset = Number(url.searchParams.get("offset"));
        const results = many.slice(offset, offset + limit);
        return {
          body: { count: many.length, next: offset + limit < many.length ? "more" : null, previous: null, results },
        };
      },
    });
    const user = userEvent.setup();
    renderAt("/", <MyCampaignsPage />, "/");
    expect(await screen.findByText("Campaign 20")).toBeInTheDocument();
    expect(screen.queryByText("Campaign 21")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Show more (20 of 25)" }));
    expect(await screen.findByText("Campaign 25")).toBeInTheDocument();
    expect(screen.getAllByRole("heading", { level: 2 })).toHaveLength(25);
    expect(screen.queryByRole("button", { name: /show more/i })).not.toBeInTheDocument();
    const urls = fetchMock.mock.calls.map(([r]) => new URL((r as Request).url).search);
    expect(urls).toEqual(["?limit=20&offset=0", "?limit=20&offset=20"]);
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
