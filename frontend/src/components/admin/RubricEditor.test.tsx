import { useState } from "react";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { RubricEditor } from "./RubricEditor";
import type { FieldErrors } from "./fields";
import type { Rubric } from "./rubricDraft";

const START: Rubric = {
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
    { name: "fluency", type: "likert", label: "Fluency", required: true, min: 1, max: 5, anchors: { "1": "Unreadable" } },
  ],
};

function Harness({ initial = START, errors }: { initial?: Rubric; errors?: FieldErrors }) {
  const [rubric, setRubric] = useState(initial);
  return (
    <>
      <RubricEditor value={rubric} onChange={(next) => setRubric(next)} errors={errors} />
      <output data-testid="out">{JSON.stringify(rubric)}</output>
    </>
  );
}

const current = (): Rubric => JSON.parse(screen.getByTestId("out").textContent ?? "{}") as Rubric;
const dimension = (n: number) => screen.getAllByRole("group").filter((g) => g.tagName === "FIELDSET" && g.classList.contains("adm-dim"))[n]!;

describe("RubricEditor", () => {
  it("adds a choice dimension with options and a positive value", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    await user.selectOptions(screen.getByLabelText("New dimension of type"), "choice");
    await user.click(screen.getByRole("button", { name: "Add dimension" }));

    const dim = within(dimension(2));
    await user.type(dim.getByLabelText("Question shown to annotators"), "Is it polite?");
    await user.clear(dim.getByLabelText("Options 1 label"));
    await user.type(dim.getByLabelText("Options 1 label"), "Polite");
    await user.clear(dim.getByLabelText("Options 2 label"));
    await user.type(dim.getByLabelText("Options 2 label"), "Very rude");
    await user.click(dim.getByRole("button", { name: "Add option" }));
    await user.type(dim.getByLabelText("Options 3 label"), "Mixed");
    await user.click(dim.getByLabelText("Very rude counts as positive"));

    const added = current().dimensions[2];
    expect(added).toEqual({
      name: "is_it_polite",
      type: "choice",
      label: "Is it polite?",
      required: true,
      options: [
        { value: "polite", label: "Polite" },
        { value: "very_rude", label: "Very rude" },
        { value: "mixed", label: "Mixed" },
      ],
      positive: ["very_rude"],
    });
    // The JSON preview shows exactly what is sent.
    expect(JSON.parse(screen.getByTestId("rubric-json").textContent ?? "")).toEqual(current());
  });

  it("makes a dimension conditional on an earlier choice", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    await user.selectOptions(screen.getByLabelText("New dimension of type"), "multi_choice");
    await user.click(screen.getByRole("button", { name: "Add dimension" }));
    const dim = within(dimension(2));
    await user.clear(dim.getByLabelText("Name (identifier)"));
    await user.type(dim.getByLabelText("Name (identifier)"), "hazard");
    await user.type(dim.getByLabelText("Question shown to annotators"), "Hazard category");
    await user.click(dim.getByLabelText("Ask only when an earlier answer is one of some values"));
    expect(dim.getByLabelText("Depends on")).toHaveValue("harm");
    await user.click(dim.getByLabelText("Unsafe"));

    const hazard = current().dimensions[2]!;
    expect(hazard.name).toBe("hazard");
    expect(hazard.type).toBe("multi_choice");
    expect(hazard.show_if).toEqual({ dimension: "harm", in: ["unsafe"] });
    expect(hazard.options?.length).toBeGreaterThan(0);

    // Renaming the parent and one of its values follows through to the condition.
    const harm = within(dimension(0));
    await user.clear(harm.getByLabelText("Name (identifier)"));
    await user.type(harm.getByLabelText("Name (identifier)"), "harmful");
    await user.clear(harm.getByLabelText("Options 2 value"));
    await user.type(harm.getByLabelText("Options 2 value"), "bad");
    expect(current().dimensions[2]!.show_if).toEqual({ dimension: "harmful", in: ["bad"] });
    expect(current().dimensions[0]!.positive).toEqual(["bad"]);

    // Removing the parent removes the condition, which would otherwise be invalid.
    await user.click(screen.getByRole("button", { name: "Remove Is the output harmful?" }));
    expect(current().dimensions.map((d) => d.name)).toEqual(["fluency", "hazard"]);
    expect(current().dimensions[1]!.show_if).toBeUndefined();
  });

  it("reorders dimensions, changes a type and edits likert anchors", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    await user.click(screen.getByRole("button", { name: "Move Fluency up" }));
    expect(current().dimensions.map((d) => d.name)).toEqual(["fluency", "harm"]);

    const fluency = within(dimension(0));
    await user.clear(fluency.getByLabelText("Highest point"));
    await user.type(fluency.getByLabelText("Highest point"), "7");
    await user.type(fluency.getByLabelText("Anchor for 7"), "Excellent");
    await user.clear(fluency.getByLabelText("Anchor for 1"));
    const f = current().dimensions[0]!;
    expect(f).toMatchObject({ type: "likert", min: 1, max: 7, anchors: { "7": "Excellent" } });
    expect(f.anchors).not.toHaveProperty("1");

    const harm = within(dimension(1));
    await user.selectOptions(harm.getByLabelText("Type"), "text");
    expect(current().dimensions[1]).toEqual({
      name: "harm",
      type: "text",
      label: "Is the output harmful?",
      required: true,
      max_length: 2000,
    });
    await user.click(harm.getByLabelText("Required"));
    expect(current().dimensions[1]!.required).toBe(false);
  });

  it("shows the server's errors next to the fields they name", () => {
    render(
      <Harness
        errors={{
          "rubric.dimensions[0].options[1]": ["duplicate value 'safe'"],
          "rubric.dimensions[1].min": ["min and max must be integers, min < max"],
          "rubric.dimensions[0].show_if": ["must name an earlier choice or multi_choice dimension"],
        }}
      />,
    );
    const value = within(dimension(0)).getByLabelText("Options 2 value");
    expect(value).toHaveAttribute("aria-invalid", "true");
    const describedBy = value.getAttribute("aria-describedby")!;
    expect(document.getElementById(describedBy)).toHaveTextContent("duplicate value 'safe'");

    const min = within(dimension(1)).getByLabelText("Lowest point");
    expect(document.getElementById(min.getAttribute("aria-describedby")!)).toHaveTextContent("min < max");
    // And all together at the top, named by dimension.
    const summary = screen.getAllByRole("alert")[0]!;
    expect(summary).toHaveTextContent("Dimension 1 (harm) · options[1]: duplicate value 'safe'");
    expect(summary).toHaveTextContent("Dimension 2 (fluency) · min");
  });
});
