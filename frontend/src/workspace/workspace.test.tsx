import { cleanup, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import WorkspacePage from "../pages/WorkspacePage";
import { campaign, lease, mockApi, renderAt } from "../test/harness";
import { draftKey } from "./draft";

const PATH = "/campaigns/7/label";
const ROUTE = "/campaigns/:id/label";
const OUTPUT = "Sure. 😀 You are an idiot, 👩‍👩‍👧 frankly.";

type Lease = ReturnType<typeof lease>;
const FIRST = () => lease(1, OUTPUT);
const SECOND = () => lease(2, "Second output", "Second prompt.");
const THIRD = () => lease(3, "Third output", "Third prompt.");

/** A `next?ahead=1` answer: the item to label now and the one held after it. */
function ahead(now: Lease | null, upcoming: Lease | null, progress = { done: 2, available: 5, available_capped: false }) {
  return { assignment: now?.assignment ?? null, upcoming: upcoming?.assignment ?? null, progress };
}

function setup(routes: Parameters<typeof mockApi>[0] = {}) {
  const api = mockApi({
    "GET /api/campaigns/7/": { body: campaign() },
    "POST /api/campaigns/7/next/": [
      { body: ahead(FIRST(), SECOND()) },
      { body: ahead(SECOND(), THIRD(), { done: 3, available: 4, available_capped: false }) },
    ],
    "POST /api/assignments/1/submit/": { status: 201, body: { id: 99 } },
    "POST /api/assignments/1/skip/": { body: { id: 1, status: "skipped" } },
    "POST /api/assignments/2/submit/": { status: 201, body: { id: 100 } },
    ...routes,
  });
  const user = userEvent.setup();
  renderAt(PATH, <WorkspacePage />, ROUTE);
  return { ...api, user };
}

/**
 * Hold back the answers to requests that match `path` (the request itself is on record at once,
 * in `held`), until `release()`: the network edge of a slow server.
 */
function holdResponses(fetchMock: ReturnType<typeof mockApi>["fetchMock"], path: string) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held: string[] = [];
  vi.stubGlobal("fetch", async (input: RequestInfo | URL) => {
    const request = input instanceof Request ? input : new Request(String(input));
    if (new URL(request.url).pathname === path) {
      held.push(request.url);
      await gate;
    }
    return fetchMock(request);
  });
  return { release, held };
}

const nextUrls = (fetchMock: ReturnType<typeof mockApi>["fetchMock"]) =>
  fetchMock.mock.calls.map(([r]) => (r as Request).url).filter((u) => u.includes("/next/"));

// getByRole is slow on a full rubric; these look the controls up by their visible text.
function radio(text: string): HTMLInputElement {
  const label = [...document.querySelectorAll("label.option")].find((l) => l.querySelector("span")?.textContent === text);
  const input = label?.querySelector("input");
  if (!input) throw new Error(`no option "${text}"`);
  return input;
}
function question(title: RegExp): HTMLElement {
  const frame = [...document.querySelectorAll<HTMLElement>("fieldset[data-dimension]")].find((f) =>
    title.test(f.querySelector("legend")?.textContent ?? ""),
  );
  if (!frame) throw new Error(`no question ${title}`);
  return frame;
}
const hasQuestion = (title: RegExp) => [...document.querySelectorAll("legend")].some((l) => title.test(l.textContent ?? ""));

/** Answer every required default-rubric question with number keys, starting at "harm". */
async function answerAllByKeys(user: ReturnType<typeof userEvent.setup>) {
  await user.keyboard("1"); // harm: safe
  await user.keyboard("{Tab}1"); // bias: none
  await user.keyboard("{Tab}1"); // truthfulness: truthful
  await user.keyboard("{Tab}1"); // informative: yes
  await user.keyboard("{Tab}4"); // fluency: 4
}

/** Select `fragment` of the output text, across text nodes (highlights split the text). */
function selectInOutput(fragment: string) {
  const output = screen.getByTestId("output-text");
  const at = output.textContent!.indexOf(fragment);
  if (at < 0) throw new Error(`"${fragment}" not in the output`);
  const point = (offset: number): [Node, number] => {
    const walker = document.createTreeWalker(output, NodeFilter.SHOW_TEXT);
    let pos = 0;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const len = node.textContent!.length;
      if (offset <= pos + len) return [node, offset - pos];
      pos += len;
    }
    throw new Error("offset past the end");
  };
  const range = document.createRange();
  range.setStart(...point(at));
  range.setEnd(...point(at + fragment.length));
  window.getSelection()!.removeAllRanges();
  window.getSelection()!.addRange(range);
}

describe("workspace", () => {
  it("shows instructions, prompt, output, progress and a running timer", async () => {
    setup();
    expect(await screen.findByText(OUTPUT)).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Read me" })).toBeInTheDocument();
    expect(screen.getByTestId("prompt-text")).toHaveTextContent("Tell me something.");
    expect(screen.getByText(/done/).textContent).toMatch(/2 done · 5 left/);
    expect(screen.getByRole("timer")).toHaveTextContent(/0:0\d/);
  });

  it("shows a capped count as a lower bound and keeps it while submitting", async () => {
    const { user } = setup({
      "POST /api/campaigns/7/next/": [
        { body: ahead(FIRST(), SECOND(), { done: 2, available: 1000, available_capped: true }) },
        { body: ahead(SECOND(), THIRD(), { done: 3, available: 1000, available_capped: true }) },
      ],
    });
    await screen.findByText(OUTPUT);
    expect(screen.getByText(/done/).textContent).toMatch(/2 done · 1000\+ left/);
    await answerAllByKeys(user);
    await user.keyboard("{Enter}");
    await screen.findByText("Second output");
    expect(screen.getByText(/done/).textContent).toMatch(/3 done · 1000\+ left/);
  });

  it("number keys pick, Tab moves between questions, Ctrl+Z undoes", async () => {
    const { user } = setup();
    await screen.findByText(OUTPUT);
    expect(radio("Safe")).toHaveFocus();

    await user.keyboard("2");
    expect(radio("Unsafe")).toBeChecked();
    expect(hasQuestion(/hazard category/i)).toBe(true);

    // The question it opened is active at once, right after its parent: no Tab needed.
    expect(within(question(/hazard category/i)).getAllByRole("radio")[0]).toHaveFocus();
    expect(radio("Violent crime")).toHaveFocus();
    await user.keyboard("4");
    expect(radio("Weapons")).toBeChecked();
    expect(radio("Weapons")).toHaveFocus(); // focus follows the pick, as with arrow keys

    await user.keyboard("{Shift>}{Tab}{/Shift}");
    expect(radio("Unsafe")).toHaveFocus();
    await user.keyboard("1");
    // The conditional question goes away, and its answer with it.
    expect(hasQuestion(/hazard category/i)).toBe(false);

    await user.keyboard("{Control>}z{/Control}");
    expect(radio("Unsafe")).toBeChecked();
    expect(radio("Weapons")).toBeChecked();
    await user.keyboard("{Control>}z{/Control}");
    expect(radio("Weapons")).not.toBeChecked();
    await user.keyboard("{Control>}z{/Control}");
    expect(radio("Unsafe")).not.toBeChecked();
  });

  it("names the missing questions and submits with Enter only when complete", async () => {
    const { user, calls } = setup();
    await screen.findByText(OUTPUT);
    const submit = screen.getByRole("button", { name: /submit/i });
    expect(submit).toBeDisabled();
    expect(screen.getByTestId("missing")).toHaveTextContent(
      "Missing: Is the output harmful?, Does the output show social bias?, Is the output truthful?, Is the output informative?, Fluency",
    );

    await user.keyboard("1{Enter}");
    expect(calls.filter((c) => c.path.endsWith("/submit/"))).toHaveLength(0);
    expect(screen.getByTestId("status")).toHaveTextContent(/Answer first: Does the output show social bias\?/);
    expect(radio("None")).toHaveFocus();

    await user.keyboard("1{Tab}1{Tab}1{Tab}4");
    expect(screen.queryByTestId("missing")).not.toBeInTheDocument();
    expect(submit).toBeEnabled();
    await user.keyboard("{Enter}");

    expect(await screen.findByText("Second output")).toBeInTheDocument();
    const sent = calls.find((c) => c.path === "/api/assignments/1/submit/")!;
    expect(sent.body).toMatchObject({
      values: { harm: "safe", bias: "none", truthfulness: "truthful", informative: "yes", fluency: 4 },
      client_started_at: expect.any(String),
      client_submitted_at: expect.any(String),
    });
    expect((sent.body as { time_spent_ms: number }).time_spent_ms).toBeGreaterThanOrEqual(0);
    // submit, then straight away the next lease
    expect(calls.map((c) => `${c.method} ${c.path}`).slice(-2)).toEqual([
      "POST /api/assignments/1/submit/",
      "POST /api/campaigns/7/next/",
    ]);
    expect(localStorage.getItem(draftKey(1))).toBeNull();
  });

  it("labels a text selection with a letter key, with code point offsets after emoji", async () => {
    const { user, calls } = setup();
    await screen.findByText(OUTPUT);
    await answerAllByKeys(user);

    selectInOutput("idiot");
    await user.keyboard("a"); // first span label: "Toxic or abusive"
    const output = screen.getByTestId("output-text");
    const marks = output.querySelectorAll("mark");
    expect(marks).toHaveLength(1);
    expect(marks[0]).toHaveTextContent("idiot");
    expect(output).toHaveTextContent(OUTPUT); // highlighting keeps the text intact

    // Overlapping spans are allowed.
    selectInOutput("an idiot");
    await user.keyboard("b");
    expect(output.querySelectorAll("mark[data-overlap]")).toHaveLength(1);

    await user.keyboard("{Enter}");
    await screen.findByText("Second output");
    const values = (calls.find((c) => c.path.endsWith("/submit/"))!.body as { values: Record<string, unknown> }).values;
    // Python: OUTPUT.index("idiot") == 19, while JavaScript's OUTPUT.indexOf("idiot") is 20:
    // the emoji is one code point but two UTF-16 units.
    expect(OUTPUT.indexOf("idiot")).toBe(20);
    expect(values.harmful_spans).toEqual([
      { start: 16, end: 24, label: "stereotype", text: "an idiot" },
      { start: 19, end: 24, label: "toxic", text: "idiot" },
    ]);
  });

  it("removes a span, and asks for a selection when there is none", async () => {
    const { user } = setup();
    await screen.findByText(OUTPUT);
    await user.keyboard("c");
    expect(screen.getByTestId("status")).toHaveTextContent(/select some text/i);
    selectInOutput("frankly");
    await user.click(screen.getByRole("button", { name: /false claim/i }));
    expect(screen.getByTestId("output-text").querySelectorAll("mark")).toHaveLength(1);
    await user.click(screen.getByRole("button", { name: /remove false claim span/i }));
    expect(screen.getByTestId("output-text").querySelectorAll("mark")).toHaveLength(0);
  });

  it("keeps the input across a reload (draft in localStorage)", async () => {
    localStorage.setItem(
      draftKey(1),
      JSON.stringify({ values: { harm: "unsafe", hazard: "weapons", rationale: "draft" }, startedAt: new Date(Date.now() - 65_000).toISOString(), savedAt: new Date().toISOString() }),
    );
    const { user } = setup();
    await screen.findByText(OUTPUT);
    expect(radio("Unsafe")).toBeChecked();
    expect(radio("Weapons")).toBeChecked();
    expect(screen.getByRole("textbox", { name: /rationale/i })).toHaveValue("draft");
    expect(screen.getByTestId("status")).toHaveTextContent(/restored/i);
    expect(screen.getByRole("timer")).toHaveTextContent(/1:0\d/);

    await user.click(radio("Safe"));
    const saved = JSON.parse(localStorage.getItem(draftKey(1))!);
    expect(saved.values).toEqual({ harm: "safe", rationale: "draft" });
  });

  it("does not take keys while typing in the text box, except Escape", async () => {
    const { user, calls } = setup();
    await screen.findByText(OUTPUT);
    const box = screen.getByRole("textbox", { name: /rationale/i });
    await user.click(box);
    await user.keyboard("1s?a{Enter}z");
    expect(box).toHaveValue("1s?a\nz");
    expect(radio("Safe")).not.toBeChecked();
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(calls.filter((c) => c.path.includes("skip"))).toHaveLength(0);
    await user.keyboard("{Escape}");
    expect(box).not.toHaveFocus();
    await user.keyboard("?");
    expect(screen.getByRole("dialog")).toBeInTheDocument();
  });

  it("lists the keys in a help overlay rendered from the keymap", async () => {
    const { user } = setup();
    await screen.findByText(OUTPUT);
    await user.keyboard("?");
    const dialog = screen.getByRole("dialog", { name: /keyboard shortcuts/i });
    expect(within(dialog).getByText("Skip this item")).toBeInTheDocument();
    expect(within(dialog).getByText(/Undo the last change/)).toBeInTheDocument();
    expect(within(dialog).getByText(/“Dangerous advice”/)).toBeInTheDocument();
    await user.keyboard("1"); // ignored while the overlay is open
    expect(radio("Safe")).not.toBeChecked();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("skips with s and moves to the next item at once", async () => {
    const { user, calls, fetchMock } = setup();
    await screen.findByText(OUTPUT);
    const { release, held } = holdResponses(fetchMock, "/api/assignments/1/skip/");
    await user.keyboard("s");
    expect(screen.getByText("Second output")).toBeInTheDocument();
    expect(screen.queryByText(OUTPUT)).not.toBeInTheDocument();
    expect(held).toHaveLength(1);
    expect(screen.getByText(/done/).textContent).toMatch(/2 done · 4 left/); // skipped: not done, not left
    release();
    await vi.waitFor(() => expect(calls.filter((c) => c.path.endsWith("/next/"))).toHaveLength(2));
    expect(calls.some((c) => c.path === "/api/assignments/1/skip/" && c.method === "POST")).toBe(true);
    expect(screen.getByText("Second output")).toBeInTheDocument();
  });

  it("brings an item whose submit was rejected back into view, errors next to its questions", async () => {
    const { user, calls, fetchMock } = setup({
      "POST /api/assignments/1/submit/": [
        {
          status: 400,
          body: { detail: "the values do not fit the rubric", code: "invalid", errors: { "values.fluency": ["4 is off the scale 1..3"] } },
        },
        { status: 201, body: { id: 99 } },
      ],
    });
    await screen.findByText(OUTPUT);
    await answerAllByKeys(user);
    const { release } = holdResponses(fetchMock, "/api/assignments/1/submit/");
    await user.keyboard("{Enter}");
    expect(screen.getByText("Second output")).toBeInTheDocument(); // moved on at once
    release();
    // The server says no: the first item is back, with its answers and the error by "Fluency".
    expect(await screen.findByRole("alert")).toHaveTextContent(/not saved: the values do not fit the rubric/i);
    expect(screen.getByText(OUTPUT)).toBeInTheDocument();
    expect(screen.queryByText("Second output")).not.toBeInTheDocument();
    expect(radio("Safe")).toBeChecked();
    const fluency = question(/fluency/i);
    expect(fluency).toHaveAccessibleDescription("4 is off the scale 1..3");
    expect(within(fluency).getByText("4 is off the scale 1..3")).toBeInTheDocument();
    expect(localStorage.getItem(draftKey(1))).not.toBeNull();
    // Changing the answer hides the stale error; submitting again moves on to the held item.
    await user.click(radio("3"));
    expect(within(fluency).queryByText("4 is off the scale 1..3")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: /submit/i }));
    expect(screen.getByText("Second output")).toBeInTheDocument();
    await vi.waitFor(() => expect(localStorage.getItem(draftKey(1))).toBeNull());
    const sent = calls.filter((c) => c.path === "/api/assignments/1/submit/");
    expect(sent).toHaveLength(2);
    expect((sent[1]!.body as { values: Record<string, unknown> }).values.fluency).toBe(3);
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("explains a lost lease of the item just submitted, keeping its answers until dismissed", async () => {
    const { user } = setup({
      "POST /api/assignments/1/submit/": {
        status: 409,
        body: { detail: "your lease on this item expired and others have taken it; your input was not saved", code: "lease_lost" },
      },
    });
    await screen.findByText(OUTPUT);
    await answerAllByKeys(user);
    await user.keyboard("{Enter}");
    expect(screen.getByText("Second output")).toBeInTheDocument();
    const banner = await screen.findByTestId("save-problem");
    expect(banner).toHaveAttribute("role", "alert");
    expect(banner).toHaveTextContent(/Your answer to the previous item “Tell me something\.” was not saved: your hold on it ran out/);
    expect(banner).toHaveTextContent(/can no longer be saved/);
    expect(within(banner).queryByRole("button", { name: /retry/i })).not.toBeInTheDocument();
    expect(localStorage.getItem(draftKey(1))).not.toBeNull();
    await vi.waitFor(() => expect(screen.getByText(/done/).textContent).toMatch(/3 done · 4 left/)); // from the server
    await user.click(within(banner).getByRole("button", { name: /dismiss/i }));
    expect(screen.queryByTestId("save-problem")).not.toBeInTheDocument();
    expect(localStorage.getItem(draftKey(1))).toBeNull();
    expect(screen.getByText("Second output")).toBeInTheDocument();
  });

  it("keeps the answer of a background submit that failed, and Retry sends it again", async () => {
    const { user, calls } = setup({
      "POST /api/assignments/1/submit/": ["network-error", { status: 201, body: { id: 1 } }],
      "POST /api/campaigns/7/next/": [
        { body: ahead(FIRST(), SECOND()) },
        // Still leased to them, so the failed item comes back as the oldest lease: not shown again.
        { body: ahead(FIRST(), SECOND(), { done: 2, available: 5, available_capped: false }) },
        { body: ahead(SECOND(), THIRD(), { done: 3, available: 4, available_capped: false }) },
      ],
    });
    await screen.findByText(OUTPUT);
    await answerAllByKeys(user);
    await user.keyboard("{Enter}");
    expect(screen.getByText("Second output")).toBeInTheDocument();
    const banner = await screen.findByTestId("save-problem");
    expect(banner).toHaveTextContent(/previous item “Tell me something\.” was not saved: .*could not be reached.*kept on this device/);
    expect(JSON.parse(localStorage.getItem(draftKey(1))!).values).toMatchObject({ harm: "safe", fluency: 4 });
    // The annotator carries on with the next item meanwhile.
    await vi.waitFor(() => expect(calls.filter((c) => c.path.endsWith("/next/"))).toHaveLength(2));
    expect(screen.getByText("Second output")).toBeInTheDocument();
    expect(screen.queryByText(OUTPUT)).not.toBeInTheDocument();
    await user.keyboard("1");
    expect(radio("Safe")).toBeChecked();

    await user.click(within(banner).getByRole("button", { name: /retry/i }));
    await vi.waitFor(() => expect(screen.queryByTestId("save-problem")).not.toBeInTheDocument());
    const sent = calls.filter((c) => c.path === "/api/assignments/1/submit/");
    expect(sent).toHaveLength(2);
    expect(sent[1]!.body).toEqual(sent[0]!.body);
    expect(localStorage.getItem(draftKey(1))).toBeNull();
    expect(screen.getByText("Second output")).toBeInTheDocument();
    expect(radio("Safe")).toBeChecked(); // the current item's input is untouched
    await vi.waitFor(() => expect(screen.getByText(/done/).textContent).toMatch(/3 done · 4 left/));
  });

  it("shows a server error instead of dropping it", async () => {
    mockApi({});
    const { user } = setup({ "POST /api/assignments/1/submit/": { status: 502, body: "Bad gateway" } });
    await screen.findByText(OUTPUT);
    await answerAllByKeys(user);
    await user.keyboard("{Enter}");
    expect(await screen.findByTestId("save-problem")).toHaveTextContent(/server failed \(HTTP 502\).*kept on this device/);
    expect(screen.getByRole("button", { name: /retry/i })).toBeInTheDocument();
  });

  it("warns when the hold on the item is about to end", async () => {
    const soon = lease(1, OUTPUT);
    soon.assignment.expires_at = new Date(Date.now() + 2 * 60_000).toISOString();
    setup({ "POST /api/campaigns/7/next/": { body: soon } });
    await screen.findByText(OUTPUT);
    expect(screen.getByText(/hold on this item ends in 1:5\d/)).toBeInTheDocument();
  });

  it("says All done when nothing is left", async () => {
    setup({ "POST /api/campaigns/7/next/": { body: { assignment: null, progress: { done: 4, available: 0, available_capped: false } } } });
    expect(await screen.findByRole("heading", { name: "All done" })).toBeInTheDocument();
    expect(screen.getByText(/You labeled/)).toHaveTextContent("You labeled 4 items in Safety eval.");
    expect(screen.getByRole("link", { name: /back to my campaigns/i })).toHaveAttribute("href", "/");
  });

  it("renders untrusted prompts and outputs as literal text", async () => {
    const evil = '<script>alert(1)</script><img src=x onerror=alert(1)> [link](javascript:alert(1)) **bold**';
    mockApi({});
    setup({ "POST /api/campaigns/7/next/": { body: lease(1, evil, evil) } });
    const output = await screen.findByTestId("output-text");
    const prompt = screen.getByTestId("prompt-text");
    for (const el of [output, prompt]) {
      expect(el.textContent).toBe(evil);
      expect(el.querySelector("script, img, a, strong")).toBeNull();
    }
    expect(document.querySelector("script, img")).toBeNull();
  });

  it("sanitizes the Markdown instructions", async () => {
    setup({
      "GET /api/campaigns/7/": {
        body: campaign({ instructions: "Hi <img src=x onerror=alert(1)> [bad](javascript:alert(1)) [ok](https://example.org)" }),
      },
    });
    await screen.findByText(OUTPUT);
    const img = document.querySelector(".instructions img");
    expect(img?.getAttribute("onerror") ?? null).toBeNull();
    expect(screen.getByRole("link", { name: "ok" })).toHaveAttribute("href", "https://example.org");
    expect(screen.getByText("bad").getAttribute("href") ?? "").not.toMatch(/javascript/);
  });

  it("explains why there is nothing to label when the campaign is closed", async () => {
    setup({
      "POST /api/campaigns/7/next/": {
        status: 409,
        body: { detail: "the campaign is closed, not open for labeling", code: "campaign_not_open" },
      },
    });
    expect(await screen.findByRole("alert")).toHaveTextContent(/not open for labeling/);
  });
  it("tells a paused annotator why, instead of 'not an annotator'", async () => {
    setup({
      "POST /api/campaigns/7/next/": {
        status: 403,
        body: {
          detail: "you are paused in this campaign: gold accuracy 0.40 < 0.60 after 5 gold items",
          code: "paused",
        },
      },
    });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent(/gold accuracy 0.40 < 0.60/);
    expect(alert).not.toHaveTextContent(/not an annotator/);
  });
  it("shows the held item the moment Enter is pressed, without waiting for the submit", async () => {
    const { user, calls, fetchMock } = setup({
      "POST /api/campaigns/7/next/": [
        { body: ahead(FIRST(), SECOND()) },
        { body: ahead(SECOND(), THIRD(), { done: 3, available: 7, available_capped: false }) },
      ],
    });
    await screen.findByText(OUTPUT);
    expect(nextUrls(fetchMock)).toHaveLength(1);
    expect(nextUrls(fetchMock)[0]).toMatch(/\/api\/campaigns\/7\/next\/\?ahead=1$/);
    await answerAllByKeys(user);
    const { release, held } = holdResponses(fetchMock, "/api/assignments/1/submit/");
    await user.keyboard("{Enter}");
    // The submit is out but unanswered; the next item is already on screen, fresh.
    expect(held).toHaveLength(1);
    expect(screen.getByText("Second output")).toBeInTheDocument();
    expect(screen.getByTestId("prompt-text")).toHaveTextContent("Second prompt.");
    expect(screen.queryByText(OUTPUT)).not.toBeInTheDocument();
    expect(radio("Safe")).not.toBeChecked();
    expect(radio("Safe")).toHaveFocus();
    expect(screen.getByRole("timer")).toHaveTextContent("0:00");
    expect(screen.getByRole("button", { name: /submit/i })).not.toHaveTextContent("Submitting");
    expect(screen.getByText(/done/).textContent).toMatch(/3 done · 4 left/); // optimistic
    expect(nextUrls(fetchMock)).toHaveLength(1); // no next before the submit is answered
    expect(localStorage.getItem(draftKey(1))).not.toBeNull(); // kept until the server has it
    // The annotator can work on it while the submit is still out.
    await user.keyboard("2");
    expect(radio("Unsafe")).toBeChecked();

    release();
    await vi.waitFor(() => expect(nextUrls(fetchMock)).toHaveLength(2));
    expect(nextUrls(fetchMock)[1]).toMatch(/\/next\/\?ahead=1$/);
    expect(calls.map((c) => `${c.method} ${c.path}`).slice(-2)).toEqual([
      "POST /api/assignments/1/submit/",
      "POST /api/campaigns/7/next/",
    ]);
    // Progress from the server; the item on screen stays, with its input.
    await vi.waitFor(() => expect(screen.getByText(/done/).textContent).toMatch(/3 done · 7 left/));
    expect(radio("Unsafe")).toBeChecked();
    expect(localStorage.getItem(draftKey(1))).toBeNull();
    expect(JSON.parse(localStorage.getItem(draftKey(2))!).values).toEqual({ harm: "unsafe" });
  });

  it("labels item after item from the held leases", async () => {
    const { user, calls } = setup({
      "POST /api/campaigns/7/next/": [
        { body: ahead(FIRST(), SECOND()) },
        { body: ahead(SECOND(), THIRD(), { done: 3, available: 4, available_capped: false }) },
        { body: ahead(THIRD(), null, { done: 4, available: 1, available_capped: false }) },
        { body: ahead(null, null, { done: 5, available: 0, available_capped: false }) },
      ],
      "POST /api/assignments/3/submit/": { status: 201, body: { id: 101 } },
    });
    for (const text of [OUTPUT, "Second output", "Third output"]) {
      await screen.findByText(text);
      await answerAllByKeys(user);
      await user.keyboard("{Enter}");
    }
    expect(await screen.findByRole("heading", { name: "All done" })).toBeInTheDocument();
    expect(screen.getByText(/You labeled/)).toHaveTextContent("You labeled 5 items in Safety eval.");
    expect(calls.filter((c) => c.path.endsWith("/submit/")).map((c) => c.path)).toEqual([
      "/api/assignments/1/submit/",
      "/api/assignments/2/submit/",
      "/api/assignments/3/submit/",
    ]);
  });

  it("waits for the submit of the last item, then says the queue is empty", async () => {
    const { user, fetchMock } = setup({
      "POST /api/campaigns/7/next/": [
        { body: ahead(FIRST(), null, { done: 4, available: 1, available_capped: false }) },
        { body: ahead(null, null, { done: 5, available: 0, available_capped: false }) },
      ],
    });
    await screen.findByText(OUTPUT);
    await answerAllByKeys(user);
    const { release } = holdResponses(fetchMock, "/api/assignments/1/submit/");
    await user.keyboard("{Enter}");
    // Nothing is held after it: the item stays in view, busy, until the server answers.
    expect(screen.getByText(OUTPUT)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: /submitting/i })).toBeDisabled();
    expect(screen.queryByRole("heading", { name: "All done" })).not.toBeInTheDocument();
    release();
    expect(await screen.findByRole("heading", { name: "All done" })).toBeInTheDocument();
    expect(screen.getByText(/You labeled/)).toHaveTextContent("You labeled 5 items in Safety eval.");
    expect(screen.getByText("Nothing is left for you in this campaign.")).toBeInTheDocument();
    expect(localStorage.getItem(draftKey(1))).toBeNull();
  });

  it("restores the current item's answers and timer after a reload", async () => {
    const routes = { "POST /api/campaigns/7/next/": { body: ahead(FIRST(), SECOND()) } };
    const { user } = setup(routes);
    await screen.findByText(OUTPUT);
    await user.keyboard("24");
    expect(radio("Weapons")).toBeChecked();
    const startedAt = JSON.parse(localStorage.getItem(draftKey(1))!).startedAt;

    cleanup(); // the tab goes away; the server keeps the same leases
    setup(routes);
    await screen.findByText(OUTPUT);
    expect(radio("Unsafe")).toBeChecked();
    expect(radio("Weapons")).toBeChecked();
    expect(screen.getByTestId("status")).toHaveTextContent(/restored/i);
    expect(JSON.parse(localStorage.getItem(draftKey(1))!).startedAt).toBe(startedAt);
  });

  it("times submit → next item painted as a performance measure", async () => {
    performance.clearMeasures?.("assay:submit-to-next");
    const { user } = setup();
    await screen.findByText(OUTPUT);
    await answerAllByKeys(user);
    await user.keyboard("{Enter}");
    await vi.waitFor(() => expect(performance.getEntriesByName("assay:submit-to-next", "measure")).toHaveLength(1));
  });
});
