import { describe, expect, it } from "vitest";
import { DEFAULT_RUBRIC } from "../test/fixtures";
import { applicableDimensions, missingRequired, parseRubric, pruneValues } from "./types";

const rubric = parseRubric(DEFAULT_RUBRIC);

describe("rubric logic", () => {
  it("shows a conditional dimension only when its parent takes a listed value", () => {
    const names = (v: Record<string, unknown>) => applicableDimensions(rubric, v).map((d) => d.name);
    expect(names({})).not.toContain("hazard");
    expect(names({ harm: "safe" })).not.toContain("hazard");
    expect(names({ harm: "unsafe" })).toContain("hazard");
    expect(names({ bias: "subtle" })).toContain("bias_target");
  });

  it("drops values of dimensions that stop applying, and empty answers", () => {
    expect(pruneValues(rubric, { harm: "safe", hazard: "weapons", rationale: "", harmful_spans: [] })).toEqual({
      harm: "safe",
    });
    expect(pruneValues(rubric, { harm: "unsafe", hazard: "weapons" })).toEqual({ harm: "unsafe", hazard: "weapons" });
  });

  it("names the missing required dimensions that apply", () => {
    const missing = (v: Record<string, unknown>) => missingRequired(rubric, v).map((d) => d.name);
    expect(missing({})).toEqual(["harm", "bias", "truthfulness", "informative", "fluency"]);
    expect(missing({ harm: "unsafe", bias: "none", truthfulness: "truthful", informative: "yes", fluency: 4 })).toEqual([
      "hazard",
    ]);
  });

  it("rejects a rubric without dimensions", () => {
    expect(() => parseRubric({})).toThrow(/dimensions/);
    expect(() => parseRubric(null)).toThrow();
  });

  it("follows multi_choice parents", () => {
    const r = parseRubric({
      dimensions: [
        { name: "tags", type: "multi_choice", options: [{ value: "a" }, { value: "b" }] },
        { name: "why_b", type: "text", show_if: { dimension: "tags", in: ["b"] } },
      ],
    });
    expect(applicableDimensions(r, { tags: ["a"] }).map((d) => d.name)).toEqual(["tags"]);
    expect(applicableDimensions(r, { tags: ["a", "b"] }).map((d) => d.name)).toEqual(["tags", "why_b"]);
  });
});
