import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ImportReportTable } from "./ImportReportTable";
import { PromptImport } from "./PromptImport";
import { mockServer, renderWithProviders } from "./testUtils";

const REJECTED = {
  detail: "3 bad row(s); nothing was imported",
  code: "import_rejected",
  errors: { file: ["3 bad row(s); nothing was imported"] },
  rows: [
    { row: 2, field: "", reason: "not valid JSON: Expecting value" },
    { row: 4, field: "text", reason: 'missing or empty (use a "text", "prompt" or "question" field)' },
    { row: 7, field: "split", reason: "'secret' is not one of public, private" },
  ],
};

describe("ImportReportTable", () => {
  it("renders every bad row", () => {
    render(<ImportReportTable rows={REJECTED.rows} />);
    const rows = within(screen.getByRole("table")).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => within(r).getAllByRole("cell")[0]!.textContent)).toEqual(["2", "4", "7"]);
    expect(rows[1]).toHaveTextContent("text");
    expect(rows[2]).toHaveTextContent("'secret' is not one of public, private");
    expect(rows[0]).toHaveTextContent("(whole row)");
  });

  it("renders row text as text, never as HTML", () => {
    render(<ImportReportTable rows={[{ row: 1, field: "text", reason: "<img src=x onerror=alert(1)>" }]} />);
    expect(screen.getByText("<img src=x onerror=alert(1)>")).toBeInTheDocument();
    expect(document.querySelector("img")).toBeNull();
  });
});

describe("PromptImport", () => {
  it("shows the per-row report of a rejected paste", async () => {
    const calls = mockServer({ "POST /api/campaigns/9/prompts/import/": { status: 400, body: REJECTED } });
    const user = userEvent.setup();
    renderWithProviders(<PromptImport campaignId={9} />);
    await user.click(screen.getByLabelText("Paste text"));
    await user.type(screen.getByLabelText("File content"), '{{"text": "hi"}{enter}oops');
    await user.selectOptions(screen.getByLabelText("Split for rows that name none"), "private");
    await user.click(screen.getByRole("button", { name: "Import" }));

    const table = await screen.findByRole("table");
    expect(within(table).getAllByRole("row")).toHaveLength(1 + 3);
    expect(screen.getByText("3 bad row(s); nothing was imported")).toBeInTheDocument();
    expect(calls[0]!.body).toEqual({ content: '{"text": "hi"}\noops', split: "private", format: "jsonl" });
  });

  it("uploads a file as multipart and reports the count", async () => {
    const calls = mockServer({ "POST /api/campaigns/9/prompts/import/": { status: 201, body: { created: 2 } } });
    const user = userEvent.setup();
    renderWithProviders(<PromptImport campaignId={9} />);
    const file = new File(["text,category\nHello,a\nBye,b\n"], "prompts.csv", { type: "text/csv" });
    await user.upload(screen.getByLabelText("JSONL or CSV file"), file);
    await user.click(screen.getByRole("button", { name: "Import" }));
    expect(await screen.findByText("Imported 2 prompts.")).toBeInTheDocument();
    expect(calls[0]!.request.headers.get("content-type")).toMatch(/^multipart\/form-data; boundary=/);
    const form = calls[0]!.body as FormData;
    expect(form.get("split")).toBe("public");
    expect(form.get("format")).toBeNull();
    // jsdom's File is not the Blob that Node's Request serializes, so only the part is checked.
    expect(form.has("file")).toBe(true);
  });

  it("shows a field error that is not a row report", async () => {
    mockServer({
      "POST /api/campaigns/9/prompts/import/": {
        status: 400,
        body: { detail: "the file is not UTF-8 text", code: "invalid", errors: { file: ["the file is not UTF-8 text"] } },
      },
    });
    const user = userEvent.setup();
    renderWithProviders(<PromptImport campaignId={9} />);
    await user.upload(screen.getByLabelText("JSONL or CSV file"), new File(["\xff"], "x.jsonl"));
    await user.click(screen.getByRole("button", { name: "Import" }));
    const input = screen.getByLabelText("JSONL or CSV file");
    await screen.findByText("the file is not UTF-8 text");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(document.getElementById(input.getAttribute("aria-describedby")!)).toHaveTextContent("not UTF-8");
    expect(screen.queryByRole("table")).toBeNull();
  });
});
