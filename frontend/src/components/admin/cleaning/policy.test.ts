import { describe, expect, it } from "vitest";
import { decide, segments, tally, type SampleDoc } from "./policy";

const doc = (scores: Record<string, number>, spanScores: number[]): SampleDoc => ({
  id: "d",
  text: "Über a moron here",
  scores,
  spans: spanScores.map((score) => ({ start: 7, end: 12, label: "toxic", score })),
});

describe("cleaning policy", () => {
  it("removes at the threshold, masks kept documents' spans, keeps the rest", () => {
    expect(decide(doc({ harm: 0.8 }, [0.9]), { harm: 0.8 }, 0.5)).toBe("remove");
    expect(decide(doc({ harm: 0.79 }, [0.9]), { harm: 0.8 }, 0.5)).toBe("mask");
    expect(decide(doc({ harm: 0.79 }, [0.4]), { harm: 0.8 }, 0.5)).toBe("keep");
    expect(decide(doc({ harm: 0.79 }, [0.9]), { harm: 0.8 }, null)).toBe("keep");
    expect(tally([doc({ harm: 0.9 }, []), doc({ harm: 0.1 }, [0.7])], { harm: 0.5 }, 0.5)).toEqual({
      remove: 1,
      mask: 1,
      keep: 0,
    });
  });

  it("cuts the text at code points, not UTF-16 units", () => {
    const parts = segments("Über a moron here", [{ start: 7, end: 12, label: "toxic", score: 1 }]);
    expect(parts.map((p) => p.text)).toEqual(["Über a ", "moron", " here"]);
    expect(parts[1]!.span?.label).toBe("toxic");
    expect(segments("😀 bad", [{ start: 2, end: 5, label: "x", score: 1 }]).map((p) => p.text)).toEqual(["😀 ", "bad"]);
  });
});
