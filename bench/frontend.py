#!/usr/bin/env python3
"""Frontend benchmark: what the labeling workspace costs to load, and how fast it moves on.

1. Size: the JavaScript and CSS that the workspace route (/campaigns/:id/label) loads, from the
   build in frontend/dist: the entry chunk named by index.html (or by Vite's .vite/manifest.json
   when the build writes one) and its static imports, followed recursively; lazily loaded
   chunks (the admin pages, the charts) are left out. Each file is gzipped at level 9 and the
   sizes summed (1 KB = 1000 bytes, as Vite reports).
2. Speed: it starts Assay for real (a temp SQLite database and var dir, `manage.py migrate`,
   `collectstatic`, a seeded labeling campaign of imported items with the default rubric, and
   gunicorn with DEBUG=false, 127.0.0.1 only), signs in through the login form in headless
   Debian Chromium (Playwright), and labels items with the keyboard: the default rubric's
   per-option hotkeys for the required questions, then Enter (first 5 items with number keys
   and Tab instead, for the comparison). Keystrokes per item are counted by a keydown listener
   in the page (what reached it, not what the script meant to send). For each submit it
   measures the time from the Enter keydown to the next item's text being shown, in the page:
   a MutationObserver sees the output text change and a requestAnimationFrame callback marks
   the frame that paints it. The app's own `performance.measure("assay:submit-to-next")`
   entries are read and reported too.
   The measured run is paced like a very fast annotator (at least --pace-ms from an item being
   ready to its Enter, default 1 s, after 2 warm-up submits); a burst run after it submits as
   fast as the keys go (--burst, reported on the side: it races the app's prefetch).

It prints a table with the targets (workspace JS < 250 KB gzipped, submit -> next < 100 ms at
p95, keystrokes per item <= 6) and writes bench/results/frontend.json, plus screenshots of the
workspace at 1280x800 and 390x844 (touch) as bench/results/workspace_{1280,390}.png.
The exit status is 1 if a target is missed.
It stops the gunicorn it started (its own process group) and removes its temp dir on exit.

Usage (from the repository root, after `make frontend`):
    .venv/bin/python bench/frontend.py [--submits 50] [--warmup 2] [--pace-ms 1000]
        [--burst 20] [--out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "frontend" / "dist"
BIN = ROOT / ".venv" / "bin"
PY = str(BIN / "python") if (BIN / "python").exists() else sys.executable
GUNICORN = str(BIN / "gunicorn")
RESULTS = ROOT / "bench" / "results" / "frontend.json"
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
KB = 1000
STATIC_URL = "/static/"
GUNICORN_ARGS = ["-w", "2", "-k", "gthread", "--threads", "4", "--log-level", "warning"]
TARGETS = {
    "workspace_js_gz_kb_max": 250.0,
    "submit_to_next_p95_ms_max": 100.0,
    "keystrokes_per_item_max": 6.0,
}
ANNOTATOR = "bench_annotator"
PASSWORD = "bench-annotator-pw"
SEED = 20240611
FILLER = (
    "the model says that water boils at sea level while some people claim other things "
    "about history science law and finance which may or may not be true in every case"
)
STEP_TIMEOUT_MS = 15_000


def log(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------- bundle size
class _AssetTags(HTMLParser):
    """The module scripts, module preloads and stylesheets of index.html."""

    def __init__(self) -> None:
        super().__init__()
        self.js: list[str] = []
        self.css: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        rel = a.get("rel", "").lower().split()
        if tag == "script" and a.get("src"):
            self.js.append(a["src"])
        elif tag == "link" and "stylesheet" in rel and a.get("href"):
            self.css.append(a["href"])
        elif tag == "link" and "modulepreload" in rel and a.get("href"):
            self.js.append(a["href"])


# `import x from "./a.js"`, `import"./a.js"`, `export{a as b}from"./a.js"` (minified or not);
# never `import("./a.js")`, which is a lazy chunk.
_STATIC_IMPORT = re.compile(
    r"""(?:^|[;\s}])(?:import|export)\s*(?:[\w$*{}\s,]*?\s*from\s*)?["']([^"'()\s]+\.(?:m?js|css))["']"""
)


def _dist_path(url: str, importer: Path | None = None) -> Path | None:
    if re.match(r"^(?:[a-z]+:)?//|^data:", url):
        return None
    if url.startswith(STATIC_URL):
        return (DIST / url[len(STATIC_URL) :]).resolve()
    if url.startswith("/"):
        return (DIST / url.lstrip("/")).resolve()
    return ((importer.parent if importer else DIST) / url).resolve()


def _follow_static_imports(start: list[Path]) -> tuple[list[Path], list[Path]]:
    js: list[Path] = []
    css: list[Path] = []
    todo = list(start)
    while todo:  # bounded: each file is visited once, and dist holds finitely many
        path = todo.pop()
        if path in js or not path.exists():
            continue
        js.append(path)
        for url in _STATIC_IMPORT.findall(path.read_text(encoding="utf-8", errors="replace")):
            dep = _dist_path(url, path)
            if dep is None:
                continue
            if dep.suffix == ".css":
                if dep not in css:
                    css.append(dep)
            elif dep not in js:
                todo.append(dep)
    return js, css


def _from_manifest(manifest: dict[str, Any]) -> tuple[list[Path], list[Path]]:
    entry = next(
        (k for k, v in manifest.items() if v.get("isEntry") and v.get("src", k) == "index.html"),
        None,
    ) or next(k for k, v in manifest.items() if v.get("isEntry"))
    js: list[Path] = []
    css: list[Path] = []
    todo = [entry]
    seen: set[str] = set()
    while todo:
        key = todo.pop()
        if key in seen or key not in manifest:
            continue
        seen.add(key)
        chunk = manifest[key]
        js.append((DIST / chunk["file"]).resolve())
        css.extend((DIST / c).resolve() for c in chunk.get("css", []))
        todo.extend(chunk.get("imports", []))  # static only: dynamicImports are lazy
    return js, list(dict.fromkeys(css))


def gz_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))


def _describe(paths: list[Path]) -> list[dict[str, Any]]:
    return [
        {"file": str(p.relative_to(DIST)), "bytes": p.stat().st_size, "gz_bytes": gz_size(p)}
        for p in paths
    ]


def workspace_bundle() -> dict[str, Any]:
    index = DIST / "index.html"
    if not index.exists():
        raise SystemExit("frontend/dist/index.html is missing: run make frontend")
    manifest_path = DIST / ".vite" / "manifest.json"
    if manifest_path.exists():
        js, css = _from_manifest(json.loads(manifest_path.read_text()))
        method = "vite manifest: entry + static imports"
    else:
        tags = _AssetTags()
        tags.feed(index.read_text(encoding="utf-8"))
        entry = [p for u in tags.js if (p := _dist_path(u)) is not None]
        js, css_imported = _follow_static_imports(entry)
        css = [p for u in tags.css if (p := _dist_path(u)) is not None]
        css += [p for p in css_imported if p not in css]
        method = "index.html tags + static imports of the JS"
    js_files, css_files = _describe(js), _describe(css)
    lazy = [p for p in sorted((DIST / "assets").glob("*.js")) if p.resolve() not in js]
    return {
        "method": method,
        "js_gz_kb": round(sum(f["gz_bytes"] for f in js_files) / KB, 2),
        "css_gz_kb": round(sum(f["gz_bytes"] for f in css_files) / KB, 2),
        "js_files": js_files,
        "css_files": css_files,
        "lazy_js_files": _describe(lazy),
    }


# ----------------------------------------------------------------------------- the app
def _seed(items: int) -> dict[str, Any]:
    """Runs inside a subprocess with the benchmark's settings (see `_seed` in main)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from generation.models import CandidateModel
    from labeling.campaigns.prompt_import import text_hash
    from labeling.campaigns.services import (
        NewItem,
        campaign_create,
        items_create,
        membership_set,
    )
    from labeling.models import Campaign, Prompt

    rng = random.Random(SEED)
    words = FILLER.split()
    user_model = get_user_model()
    with transaction.atomic():
        admin = user_model.objects.create_user("bench_admin", password=PASSWORD, is_staff=True)
        annotator = user_model.objects.create_user(ANNOTATOR, password=PASSWORD)
        campaign = campaign_create(user=admin, name="bench: frontend workspace")
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.LABELING)
        membership_set(campaign=campaign, user=annotator, role="annotator")
        model = CandidateModel.objects.create(name="bench-imported", backend="imported")
        texts = [f"Question {i}: what does the record say about topic {i}?" for i in range(items)]
        prompts = Prompt.objects.bulk_create(
            Prompt(campaign=campaign, text=t, text_sha256=text_hash(t)) for t in texts
        )
        outputs = []
        for i, prompt in enumerate(prompts):
            length = rng.randint(200, 600)
            body = f"Answer {i}."  # unique, so every next item's text differs
            while len(body) < length:
                body += " " + rng.choice(words)
            outputs.append(NewItem(prompt_id=prompt.pk, sample_index=0, text=body[:length]))
        created = items_create(
            campaign=campaign, model_id=model.pk, params_hash="bench", new_items=outputs
        )
    return {"campaign_id": campaign.pk, "items": created}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], env: dict[str, str], timeout: int = 300) -> str:
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r.stdout


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn: the process group it leads (start_new_session), and nothing else."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def assay_server(tmp: Path, items: int) -> Iterator[dict[str, Any]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "assay.settings",
        "ASSAY_VAR_DIR": str(tmp / "var"),
        "SQLITE_PATH": str(tmp / "bench.sqlite3"),
        "STATIC_ROOT": str(tmp / "static"),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(key, None)
    log("migrating a temp SQLite database, collecting static files, seeding ...")
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
    run([PY, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    seeded = json.loads(run([PY, __file__, "_seed", str(items)], env).strip().splitlines()[-1])
    port = free_port()
    log_path = tmp / "gunicorn.log"
    with log_path.open("ab") as logf:
        proc = subprocess.Popen(
            [GUNICORN, "assay.wsgi", "-b", f"127.0.0.1:{port}", *GUNICORN_ARGS],
            cwd=ROOT,
            env=env,
            stdout=logf,
            stderr=logf,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({proc.returncode}): {log_path.read_text()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(base + "/healthz", timeout=2) as r,
            ):
                if r.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz: {log_path.read_text()}")
            time.sleep(0.2)
        yield {**seeded, "base": base, "sqlite": env["SQLITE_PATH"]}
    finally:
        stop(proc)


# ----------------------------------------------------------------------------- the browser
# Installed before the app's scripts: timestamps the Enter keydown (capture phase, so before the
# app's own listener), then watches the DOM for the output text to change and marks the next
# animation frame, the one that paints the new item.
RECORDER = """
(() => {
  const b = (window.__bench = {
    results: [], armed: false, waiting: false, before: null, t0: 0, keys: 0,
  });
  // Every key press that reaches the page (auto-repeat excluded): keystrokes per item.
  window.addEventListener("keydown", (e) => { if (!e.repeat) b.keys += 1; }, true);
  const outputText = () =>
    document.querySelector('[role="document"][aria-label="Model output"]')?.textContent ?? null;
  b.arm = () => { b.armed = true; };
  window.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !b.armed) return;
    b.armed = false;
    b.t0 = e.timeStamp;
    b.before = outputText();
    b.waiting = true;
  }, true);
  new MutationObserver(() => {
    if (!b.waiting) return;
    const now = outputText();
    if (now === null || now === b.before) return;
    b.waiting = false;
    const dom = performance.now() - b.t0;
    requestAnimationFrame(() => b.results.push({ dom, frame: performance.now() - b.t0 }));
  }).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""

# The required questions of the default rubric, answered as an annotator would with the keys.
# The default rubric's required questions (harm, bias, truthfulness, informative, fluency),
# answered "safe, none, truthful, yes, 4". With its per-option hotkeys each answer is one key
# (the next question becomes active); the fluency scale takes its number key. Enter submits.
ANSWER_KEYS = ["q", "e", "y", "j", "4"]
# The same answers with number keys and Tab only (the keyboard flow before hotkeys).
DIGIT_TAB_KEYS = ["1", "Tab", "1", "Tab", "1", "Tab", "1", "Tab", "4"]
KEYSTROKE_ITEMS = 5


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)

    def pct(p: float) -> float:
        k = (len(ordered) - 1) * p / 100
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

    return {"p50": round(pct(50), 1), "p95": round(pct(95), 1), "max": round(ordered[-1], 1)}


def _open_workspace(page: Any, server: dict[str, Any]) -> None:
    """Sign in through the login form, landing on the workspace."""
    path = f"/campaigns/{server['campaign_id']}/label"
    page.goto(f"/accounts/login/?next={path}")
    page.get_by_label("Username").fill(ANNOTATOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"**{path}")


def _label(page: Any, count: int, pace_ms: int, keys: list[str] | None = None) -> list[int]:
    """Answer and submit `count` items with the keyboard, each timed by RECORDER.

    `pace_ms`: the least time from an item being ready to its Enter (an annotator reads before
    submitting); 0 submits as fast as the keys can be sent.
    """
    from playwright.sync_api import expect

    harm = page.get_by_role("radiogroup", name="Is the output harmful?")
    first = harm.get_by_role("radio", name="Safe", exact=True)
    submit = page.get_by_role("button", name="Submit")
    done = page.evaluate("() => window.__bench.results.length")
    keystrokes: list[int] = []
    for i in range(count):
        expect(first).to_be_focused(timeout=STEP_TIMEOUT_MS)  # a new item starts there
        ready = time.monotonic()
        before = page.evaluate("() => window.__bench.keys")
        for key in keys or ANSWER_KEYS:
            page.keyboard.press(key)
        expect(submit).to_be_enabled(timeout=STEP_TIMEOUT_MS)
        time.sleep(max(0.0, pace_ms / 1000 - (time.monotonic() - ready)))
        page.evaluate("() => window.__bench.arm()")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "n => window.__bench.results.length >= n", arg=done + i + 1, timeout=STEP_TIMEOUT_MS
        )
        keystrokes.append(page.evaluate("() => window.__bench.keys") - before)
    return keystrokes


def _screenshots(browser: Any, server: dict[str, Any]) -> list[str]:
    """The workspace at 1280x800 (desktop) and 390x844 (a phone, touch), into bench/results."""
    shots = []
    for name, viewport, touch in (
        ("workspace_1280.png", {"width": 1280, "height": 800}, False),
        ("workspace_390.png", {"width": 390, "height": 844}, True),
    ):
        context = browser.new_context(
            base_url=server["base"], viewport=viewport, has_touch=touch, is_mobile=touch
        )
        try:
            page = context.new_page()
            _open_workspace(page, server)
            page.get_by_role("document", name="Model output").wait_for(timeout=STEP_TIMEOUT_MS)
            path = RESULTS.parent / name
            page.screenshot(path=str(path))
            shots.append(str(path.relative_to(ROOT)))
        finally:
            context.close()
    return shots


def _wait_stored(sqlite_path: str, expected: int) -> int:
    """Submits go out in the background: wait (bounded) until the database holds them all."""
    deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
    while True:
        with contextlib.closing(sqlite3.connect(sqlite_path)) as db:
            stored = int(db.execute("SELECT COUNT(*) FROM labeling_annotation").fetchone()[0])
        if stored >= expected or time.monotonic() > deadline:
            return stored
        time.sleep(0.1)


def label_loop(server: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The paced run (warmup, then `submits` measured), then a burst run of `burst` submits."""
    from playwright.sync_api import Request, sync_playwright

    requests: dict[str, list[float]] = {"submit": [], "next": []}
    loaded: list[str] = []

    def on_finished(request: Request) -> None:
        path = re.sub(r"^https?://[^/]+", "", request.url)
        if path.startswith(STATIC_URL):
            loaded.append(path)
        kind = "submit" if path.endswith("/submit/") else "next" if "/next/" in path else None
        if kind and request.method == "POST":
            requests[kind].append(request.timing["responseEnd"])

    paced = args.warmup + args.submits
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(
                base_url=server["base"], viewport={"width": 1280, "height": 800}
            )
            page.add_init_script(RECORDER)
            page.on("requestfinished", on_finished)
            _open_workspace(page, server)
            digit_tab = _label(page, KEYSTROKE_ITEMS, 0, DIGIT_TAB_KEYS)
            _wait_stored(server["sqlite"], KEYSTROKE_ITEMS)
            page.evaluate("() => { window.__bench.results = []; }")
            performance_clear = "() => performance.clearMeasures('assay:submit-to-next')"
            page.evaluate(performance_clear)
            requests["submit"].clear()
            requests["next"].clear()
            keystrokes = _label(page, paced, args.pace_ms)
            _wait_stored(server["sqlite"], KEYSTROKE_ITEMS + paced)
            n_requests = {k: len(v) for k, v in requests.items()}
            _label(page, args.burst, 0)
            stored = _wait_stored(server["sqlite"], KEYSTROKE_ITEMS + paced + args.burst)
            results = page.evaluate("() => window.__bench.results")
            app = page.evaluate(
                "() => performance.getEntriesByName('assay:submit-to-next').map(e => e.duration)"
            )
            chromium = browser.version
            shots = _screenshots(browser, server)
        finally:
            browser.close()
    w = args.warmup
    return {
        "frame": [r["frame"] for r in results[w:paced]],
        "dom": [r["dom"] for r in results[w:paced]],
        "burst_frame": [r["frame"] for r in results[paced:]],
        # One entry per submit when the app records them; otherwise none is reported.
        "app": app[w:paced] if len(app) == len(results) else [],
        "app_entries": len(app),
        "submit_requests": requests["submit"][w : n_requests["submit"]],
        "next_requests": requests["next"][1 : n_requests["next"]],  # [0]: the first lease
        "loaded_static": sorted(set(loaded)),
        "stored": stored - KEYSTROKE_ITEMS,
        "chromium": chromium,
        "keystrokes": keystrokes,
        "keystrokes_digit_tab": digit_tab,
        "screenshots": shots,
    }


# ----------------------------------------------------------------------------- report
def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def build_result(
    bundle: dict[str, Any], measured: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    shown = percentiles(measured["frame"])
    js_ok = bundle["js_gz_kb"] < TARGETS["workspace_js_gz_kb_max"]
    next_ok = shown["p95"] is not None and shown["p95"] < TARGETS["submit_to_next_p95_ms_max"]
    keys = measured["keystrokes"]
    per_item = round(sum(keys) / len(keys), 2) if keys else None
    keys_ok = per_item is not None and per_item <= TARGETS["keystrokes_per_item_max"]
    old = measured["keystrokes_digit_tab"]
    return {
        "keystrokes_per_item": per_item,
        "keystrokes_per_item_digits_and_tab": round(sum(old) / len(old), 2) if old else None,
        "keystrokes_rubric": "default rubric, required questions (harm, bias, truthfulness, "
        "informative, fluency) then Enter; counted by a keydown listener in the page",
        "workspace_js_gz_kb": bundle["js_gz_kb"],
        "workspace_css_gz_kb": bundle["css_gz_kb"],
        "submit_to_next_ms": {"p50": shown["p50"], "p95": shown["p95"]},
        "submit_to_next_max_ms": shown["max"],
        "submit_to_next_dom_ms": percentiles(measured["dom"]),
        "burst_submit_to_next_ms": percentiles(measured["burst_frame"]),
        "app_submit_to_next_ms": percentiles(measured["app"]) if measured["app"] else None,
        "submit_request_ms": percentiles(measured["submit_requests"]),
        "next_request_ms": percentiles(measured["next_requests"]),
        "targets": TARGETS,
        "verdicts": {
            "workspace_js_gz_kb": verdict(js_ok),
            "submit_to_next_p95_ms": verdict(next_ok),
            "keystrokes_per_item": verdict(keys_ok),
        },
        "screenshots": measured["screenshots"],
        "bundle": bundle,
        "workspace_loaded_static": measured["loaded_static"],
        "samples_ms": {
            k: [round(x, 1) for x in measured[k]] for k in ("frame", "dom", "app", "burst_frame")
        },
        "environment": {
            "submits": args.submits,
            "warmup": args.warmup,
            "pace_ms": args.pace_ms,
            "burst_submits": args.burst,
            "stored_annotations": measured["stored"],
            "app_measure_entries": measured["app_entries"],
            "kb": KB,
            "gzip_level": 9,
            "chromium": measured["chromium"],
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "server": "gunicorn -w 2 -k gthread --threads 4, DEBUG=false, SQLite",
            "measured": "Enter keydown (event.timeStamp) -> the animation frame after the "
            "output text changed (MutationObserver + requestAnimationFrame)",
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    }


def print_table(result: dict[str, Any]) -> None:
    def ms(d: dict[str, Any] | None, key: str) -> str:
        return "n/a" if not d or d.get(key) is None else f"{d[key]:.1f} ms"

    def both(name: str) -> str:
        return f"{ms(result[name], 'p50')} / {ms(result[name], 'p95')}"

    shown, verdicts = result["submit_to_next_ms"], result["verdicts"]
    rows = [
        ("workspace JS (gzip -9)", f"{result['workspace_js_gz_kb']:.1f} KB", "< 250 KB",
         verdicts["workspace_js_gz_kb"]),
        ("workspace CSS (gzip -9)", f"{result['workspace_css_gz_kb']:.1f} KB", "", ""),
        ("submit -> next shown p50", ms(shown, "p50"), "", ""),
        ("submit -> next shown p95", ms(shown, "p95"), "< 100 ms",
         verdicts["submit_to_next_p95_ms"]),
        ("  (DOM changed p50 / p95)", both("submit_to_next_dom_ms"), "", ""),
        ("  (app measure p50 / p95)", both("app_submit_to_next_ms"), "", ""),
        ("  (POST submit p50 / p95)", both("submit_request_ms"), "", ""),
        ("  (POST next p50 / p95)", both("next_request_ms"), "", ""),
        ("burst: submit -> next p50/p95", both("burst_submit_to_next_ms"), "", ""),
        ("keystrokes per item", f"{result['keystrokes_per_item']}", "<= 6",
         verdicts["keystrokes_per_item"]),
        ("  (number keys and Tab)", f"{result['keystrokes_per_item_digits_and_tab']}", "", ""),
    ]  # fmt: skip
    log("")
    log(f"{'metric':<28} {'value':>24}  {'target':<10} verdict")
    log("-" * 72)
    for name, value, target, ok in rows:
        log(f"{name:<28} {value:>24}  {target:<10} {ok}")
    log("")
    log(f"workspace JS files: {', '.join(f['file'] for f in result['bundle']['js_files'])}")
    loaded = [p for p in result["workspace_loaded_static"] if p.endswith((".js", ".css"))]
    log(f"loaded by the workspace in the browser: {', '.join(loaded)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--submits", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=2, help="submits before measuring (not counted)")
    ap.add_argument(
        "--pace-ms",
        type=int,
        default=1000,
        help="least time from an item being ready to its submit (a very fast annotator)",
    )
    ap.add_argument(
        "--burst", type=int, default=20, help="then this many submits as fast as keys go (0: none)"
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's Chromium")

    bundle = workspace_bundle()
    total = args.warmup + args.submits + args.burst
    tmp = Path(tempfile.mkdtemp(prefix="assay-bench-frontend-"))
    # A kill ends in the `finally` blocks too: gunicorn stopped, temp dir removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with assay_server(tmp, items=total + KEYSTROKE_ITEMS + 10) as server:
            log(f"seeded {server['items']} items; labeling {total} with the keyboard ...")
            measured = label_loop(server, args)
    finally:
        if os.environ.get("ASSAY_BENCH_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
    if measured["stored"] != total:
        raise SystemExit(f"expected {total} stored annotations, found {measured['stored']}")

    result = build_result(bundle, measured, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    log(f"wrote {args.out}")
    return 0 if all(v == "PASS" for v in result["verdicts"].values()) else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_seed":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(_seed(int(sys.argv[2]))))
        sys.exit(0)
    sys.exit(main())
