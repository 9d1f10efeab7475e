import type { ReactElement } from "react";
import { render } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { vi } from "vitest";
import { DEFAULT_RUBRIC } from "./fixtures";

export interface Call {
  method: string;
  path: string;
  body: unknown;
  headers: Headers;
}

type Reply = { status?: number; body?: unknown } | "network-error";
type Route_ = (call: Call) => Reply | undefined;

/** Stub globalThis.fetch: each request is matched by "METHOD /path" against the routes. */
export function mockApi(routes: Record<string, Reply | Route_ | (Reply | Route_)[]>) {
  const calls: Call[] = [];
  const counters: Record<string, number> = {};
  const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
    const request = input instanceof Request ? input : new Request(String(input));
    const url = new URL(request.url);
    const text = request.method === "GET" ? "" : await request.text();
    const call: Call = {
      method: request.method,
      path: url.pathname,
      body: text ? JSON.parse(text) : undefined,
      headers: request.headers,
    };
    calls.push(call);
    const key = `${request.method} ${url.pathname}`;
    let route = routes[key];
    if (Array.isArray(route)) {
      const n = counters[key] ?? 0;
      counters[key] = n + 1;
      route = route[Math.min(n, route.length - 1)];
    }
    const reply = typeof route === "function" ? route(call) : route;
    if (reply === undefined) return new Response(JSON.stringify({ detail: `no mock for ${key}` }), { status: 404 });
    if (reply === "network-error") throw new TypeError("Failed to fetch");
    return new Response(JSON.stringify(reply.body ?? {}), {
      status: reply.status ?? 200,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

export function renderAt(path: string, element: ReactElement, routePath: string) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={routePath} element={element} />
          <Route path="/" element={<p>campaign list</p>} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

export function campaign(overrides: Record<string, unknown> = {}) {
  return {
    id: 7,
    name: "Safety eval",
    instructions: "# Read me\n\nRate **carefully**.",
    rubric: DEFAULT_RUBRIC,
    overlap: 3,
    gold_rate: 0,
    lease_minutes: 30,
    status: "labeling",
    role: "annotator",
    created_at: "2025-01-01T00:00:00Z",
    updated_at: "2025-01-01T00:00:00Z",
    counts: {},
    progress: { items: 1, annotations: 0, target_annotations: 3, items_by_annotations: {}, items_complete: 0 },
    ...overrides,
  };
}

export function lease(id: number, text: string, prompt = "Tell me something.", progress = { done: 2, available: 5, available_capped: false }) {
  return {
    assignment: {
      id,
      item: { id: id * 10, prompt, text },
      status: "active",
      leased_at: new Date().toISOString(),
      expires_at: new Date(Date.now() + 30 * 60_000).toISOString(),
    },
    progress,
  };
}
