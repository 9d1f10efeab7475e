/** Test helpers for admin components: a fake server at the fetch edge, and providers. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { vi } from "vitest";

export interface Call {
  method: string;
  path: string;
  body: unknown;
  request: Request;
}

type Reply = { status?: number; body?: unknown } | undefined;
type Handler = (call: Call) => Reply | Promise<Reply>;

/**
 * Replace globalThis.fetch. `routes` maps "METHOD /api/path/" to a reply (or a function of the
 * call); anything else answers 404. Returns the list of calls made.
 */
export function mockServer(routes: Record<string, Reply | Handler>): Call[] {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(request.url);
    const type = request.headers.get("content-type") ?? "";
    let body: unknown = undefined;
    if (type.includes("application/json")) body = await request.clone().json();
    else if (type.includes("multipart/form-data")) body = await request.clone().formData();
    const call: Call = { method: request.method, path: url.pathname + url.search, body, request };
    calls.push(call);
    const route = routes[`${request.method} ${url.pathname}`];
    const reply = typeof route === "function" ? await route(call) : route;
    if (!reply) return new Response(JSON.stringify({ detail: "not found", code: "not_found" }), { status: 404 });
    const status = reply.status ?? 200;
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return calls;
}

/** Charts measure their box with ResizeObserver, which jsdom lacks. */
export function stubResizeObserver() {
  class RO {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  vi.stubGlobal("ResizeObserver", RO);
}

function newQueryClient() {
  return new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: 0 }, mutations: { retry: false } } });
}

export function renderWithProviders(
  ui: React.ReactElement,
  { route = "/", path = "*", client = newQueryClient() }: { route?: string; path?: string; client?: QueryClient } = {},
) {
  return {
    client,
    ...render(
      <QueryClientProvider client={client}>
        <MemoryRouter initialEntries={[route]}>
          <Routes>
            <Route path={path} element={ui} />
            {path !== "*" && <Route path="*" element={<p>elsewhere</p>} />}
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    ),
  };
}
