/**
 * The one typed API client. Types come from the OpenAPI schema (`npm run gen:api`), never by hand.
 *
 * Session auth: Django wants the CSRF token from the `csrftoken` cookie echoed in `X-CSRFToken`
 * on unsafe methods; the cookie is set by the page that serves the app.
 */
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
type ErrorBody = Schemas["Error"];

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

const csrfMiddleware: Middleware = {
  onRequest({ request }) {
    if (UNSAFE_METHODS.has(request.method.toUpperCase())) {
      const token = readCookie("csrftoken");
      if (token) request.headers.set("X-CSRFToken", token);
    }
    return request;
  },
};

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "" : window.location.origin,
  credentials: "same-origin",
  // Looked up at call time so that tests can stub the network edge (globalThis.fetch).
  fetch: (request: Request) => globalThis.fetch(request),
});
api.use(csrfMiddleware);

/** A failed API call: `status` 0 means the server was not reached at all. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Field path (e.g. "values.fluency") → reasons. */
  readonly fieldErrors: Record<string, string[]>;

  constructor(status: number, message: string, code = "error", fieldErrors = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fieldErrors = fieldErrors;
  }

  static fromBody(status: number, body: unknown): ApiError {
    if (body && typeof body === "object" && !Array.isArray(body)) {
      const b = body as Partial<ErrorBody> & Record<string, unknown>;
      if (typeof b.detail === "string") {
        return new ApiError(status, b.detail, typeof b.code === "string" ? b.code : "error", b.errors ?? {});
      }
      // DRF serializer errors: {field: [reasons]}.
      const fields: Record<string, string[]> = {};
      for (const [key, value] of Object.entries(b)) {
        fields[key] = Array.isArray(value) ? value.map(String) : [String(value)];
      }
      return new ApiError(status, "The request was not valid.", "invalid", fields);
    }
    const message = status >= 500 ? `The server failed (HTTP ${status}).` : `Request failed (HTTP ${status}).`;
    return new ApiError(status, message, status >= 500 ? "server_error" : "error");
  }
}

type FetchResult<D> = { data?: D; error?: unknown; response: Response };

/** Await an openapi-fetch call and return its data, or throw an ApiError. */
export async function unwrap<D>(call: Promise<FetchResult<D>>): Promise<D> {
  let result: FetchResult<D>;
  try {
    result = await call;
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "The server could not be reached. Check your connection and try again.", "network");
  }
  if (!result.response.ok || result.data === undefined) {
    throw ApiError.fromBody(result.response.status, result.error);
  }
  return result.data;
}

/** One page of a list endpoint (`limit`/`offset` parameters). */
export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** The rows of a list endpoint's page. */
export function pageResults<T>(page: Page<T>): T[] {
  return page.results;
}

export function loginUrl(next: string = window.location.pathname + window.location.search): string {
  return `/accounts/login/?next=${encodeURIComponent(next)}`;
}
