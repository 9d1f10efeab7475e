import { describe, expect, it } from "vitest";
import { mockApi } from "../test/harness";
import { api, ApiError, pageResults, unwrap } from "./client";

describe("api client", () => {
  it("sends the CSRF token from the cookie on unsafe methods only", async () => {
    document.cookie = "csrftoken=tok123";
    const { calls } = mockApi({
      "GET /api/me/": { body: { id: 1, username: "a", is_staff: false, is_superuser: false } },
      "POST /api/assignments/3/skip/": { body: { id: 3, status: "skipped" } },
    });
    await unwrap(api.GET("/api/me/"));
    await unwrap(api.POST("/api/assignments/{id}/skip/", { params: { path: { id: 3 } } }));
    expect(calls[0]!.headers.get("X-CSRFToken")).toBeNull();
    expect(calls[1]!.headers.get("X-CSRFToken")).toBe("tok123");
  });

  it("turns error bodies into ApiError with code and field errors", async () => {
    mockApi({
      "POST /api/assignments/3/submit/": {
        status: 400,
        body: { detail: "bad", code: "invalid", errors: { "values.harm": ["required"] } },
      },
      "POST /api/assignments/4/submit/": { status: 400, body: { values: ["This field is required."] } },
    });
    const err = await unwrap(api.POST("/api/assignments/{id}/submit/", { params: { path: { id: 3 } }, body: { values: {} } })).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: "invalid", message: "bad", fieldErrors: { "values.harm": ["required"] } });
    const drf = await unwrap(api.POST("/api/assignments/{id}/submit/", { params: { path: { id: 4 } }, body: { values: {} } })).catch((e) => e);
    expect(drf.fieldErrors).toEqual({ values: ["This field is required."] });
  });

  it("reports an unreachable server as status 0", async () => {
    mockApi({ "GET /api/me/": "network-error" });
    await expect(unwrap(api.GET("/api/me/"))).rejects.toMatchObject({ status: 0, code: "network" });
  });

  it("reads the rows of a page", () => {
    expect(pageResults({ count: 2, next: null, previous: null, results: [1, 2] })).toEqual([1, 2]);
  });
});
