import { useState } from "react";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { RubricForm } from "./RubricForm";
import { REGISTRY } from "./registry";
import { parseRubric, pruneValues, type Values } from "./types";

// Not the default rubric: any rubric the server accepts must render.
const rubric = parseRubric({
  dimensions: [
    {
      name: "tone",
      type: "choice",
      label: "Tone",
      required: true,
      options: [
        { value: "calm", label: "Calm" },
        { value: "angry", label: "Angry" },
      ],
    },
    {
      name: "why_angry",
      type: "multi_choice",
      label: "Why angry?",
      show_if: { dimension: "tone", in: ["angry"] },
      options: [
        { value: "insult", label: "Insult" },
        { value: "threat", label: "Threat" },
      ],
    },
    { name: "quality", type: "likert", label: "Quality", min: 0, max: 3, anchors: { "0": "Useless", "3": "Great" } },
    { name: "marks", type: "spans", label: "Marks", labels: [{ value: "x", label: "Ex" }] },
    { name: "notes", type: "text", label: "Notes", max_length: 20 },
  ],
});

function Harness({ onValues, text = "hello world" }: { onValues(v: Values): void; text?: string }) {
  const [values, setValues] = useState<Values>({});
  return (
    <RubricForm
      rubric={rubric}
      values={values}
      onChange={(name, value) => {
        const next = pruneValues(rubric, { ...values, [name]: value });
        setValues(next);
        onValues(next);
      }}
      errors={{}}
      context={{
        outputText: text,
        getSelection: () => ({ start: 6, end: 11, text: "world" }),
        clearSelection: () => {},
        select: () => {},
        notify: () => {},
      }}
      letterKeys={{ marks: ["a"] }}
      activeDimension={null}
      onActivate={() => {}}
    />
  );
}

describe("dimension types", () => {
  it("every rubric type has a registry entry", () => {
    expect(Object.keys(REGISTRY).sort()).toEqual(["choice", "likert", "multi_choice", "spans", "text"]);
  });

  it("renders each type from JSON and reports its values", async () => {
    const user = userEvent.setup();
    const onValues = vi.fn();
    render(<Harness onValues={onValues} />);

    const tone = screen.getByRole("radiogroup", { name: /tone/i });
    await user.click(within(tone).getByRole("radio", { name: "Calm" }));
    expect(onValues).toHaveBeenLastCalledWith({ tone: "calm" });

    const quality = screen.getByRole("radiogroup", { name: /quality/i });
    expect(within(quality).getAllByRole("radio")).toHaveLength(4);
    expect(within(quality).getByText("Useless")).toBeInTheDocument();
    await user.click(within(quality).getByLabelText("3: Great"));
    expect(onValues).toHaveBeenLastCalledWith({ tone: "calm", quality: 3 });

    await user.click(screen.getByRole("button", { name: /ex/i }));
    expect(onValues).toHaveBeenLastCalledWith({
      tone: "calm",
      quality: 3,
      marks: [{ start: 6, end: 11, label: "x", text: "world" }],
    });
    expect(screen.getByRole("list", { name: "Marked spans" })).toHaveTextContent("world");
    await user.click(screen.getByRole("button", { name: /remove ex span/i }));
    expect(onValues).toHaveBeenLastCalledWith({ tone: "calm", quality: 3 });

    await user.type(screen.getByRole("textbox", { name: "Notes" }), "ok");
    expect(onValues).toHaveBeenLastCalledWith({ tone: "calm", quality: 3, notes: "ok" });
    expect(screen.getByRole("textbox", { name: "Notes" })).toHaveAttribute("maxlength", "20");
  });

  it("shows a conditional dimension only while it applies and drops its value after", async () => {
    const user = userEvent.setup();
    const onValues = vi.fn();
    render(<Harness onValues={onValues} />);
    expect(screen.queryByRole("group", { name: /why angry/i })).not.toBeInTheDocument();

    await user.click(screen.getByRole("radio", { name: "Angry" }));
    const why = screen.getByRole("group", { name: /why angry/i });
    await user.click(within(why).getByRole("checkbox", { name: "Threat" }));
    await user.click(within(why).getByRole("checkbox", { name: "Insult" }));
    // Rubric order, not click order.
    expect(onValues).toHaveBeenLastCalledWith({ tone: "angry", why_angry: ["insult", "threat"] });

    await user.click(screen.getByRole("radio", { name: "Calm" }));
    expect(screen.queryByRole("group", { name: /why angry/i })).not.toBeInTheDocument();
    expect(onValues).toHaveBeenLastCalledWith({ tone: "calm" });
  });

  it("maps number keys per type", () => {
    const [tone, why, quality] = rubric.dimensions;
    expect(REGISTRY.choice!.digit!(tone!, undefined, 2)).toBe("angry");
    expect(REGISTRY.choice!.digit!(tone!, undefined, 5)).toBeUndefined();
    expect(REGISTRY.multi_choice!.digit!(why!, ["threat"], 1)).toEqual(["insult", "threat"]);
    expect(REGISTRY.multi_choice!.digit!(why!, ["threat"], 2)).toEqual([]);
    expect(REGISTRY.likert!.digit!(quality!, undefined, 0)).toBe(0);
    expect(REGISTRY.likert!.digit!(quality!, undefined, 3)).toBe(3);
    expect(REGISTRY.likert!.digit!(quality!, undefined, 4)).toBeUndefined();
  });

  it("says so for a type this app does not know", () => {
    render(
      <RubricForm
        rubric={parseRubric({ dimensions: [{ name: "x", type: "ranking", label: "Rank them" }] })}
        values={{}}
        onChange={() => {}}
        errors={{}}
        context={{ outputText: "", getSelection: () => null, clearSelection: () => {}, select: () => {}, notify: () => {} }}
        letterKeys={{}}
        activeDimension={null}
        onActivate={() => {}}
      />,
    );
    expect(screen.getByText(/cannot show/)).toBeInTheDocument();
  });
});
