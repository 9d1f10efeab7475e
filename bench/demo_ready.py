#!/usr/bin/env python3
"""How long after `make run` starts every page of the labeled demo campaign shows data.

Run `make run` in a clean clone and this beside it, started at the same moment:

    .venv/bin/python bench/demo_ready.py [--base http://127.0.0.1:8000] [--timeout 900]

It signs in as the demo admin as soon as the server answers and polls the API behind each page
of the ConvAbuse campaign (real labels) every second, recording the first time each shows
real numbers: the dashboard (annotators), quality (alpha), review (the harm review queue
lists items), classifier (an active version with predictions), scores and the leaderboard
(an estimate per model). Prints a table and writes
bench/results/demo_ready.json as {page: seconds since this script started}.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "demo_ready.json"
CAMPAIGN_PREFIX = "ConvAbuse"


def has(obj: Any, key: str) -> bool:
    """Whether any object in the JSON tree has `key` with a value (not null, not empty)."""
    if isinstance(obj, dict):
        if obj.get(key) not in (None, [], {}, ""):
            return True
        return any(has(v, key) for v in obj.values())
    if isinstance(obj, list):
        return any(has(v, key) for v in obj)
    return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:8000")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    t0 = time.monotonic()
    client = httpx.Client(base_url=args.base, timeout=10)
    since = lambda: round(time.monotonic() - t0, 1)  # noqa: E731
    seen: dict[str, float] = {}
    token = None
    while token is None and time.monotonic() - t0 < args.timeout:
        try:
            if client.get("/healthz").status_code == 200:
                if "server" not in seen:
                    seen["server"] = since()
                    print(f"{'server':<12} {seen['server']:>7.1f} s", flush=True)
                r = client.post(
                    "/api/auth/token/", json={"username": "admin", "password": "admin-demo"}
                )
                if r.status_code == 200:
                    token = r.json()["token"]
        except httpx.HTTPError:
            pass
        time.sleep(1)
    if token is None:
        raise SystemExit("the server never answered")
    client.headers["Authorization"] = f"Token {token}"
    campaigns = client.get("/api/campaigns/").json()
    rows = campaigns.get("results", campaigns) if isinstance(campaigns, dict) else campaigns
    cid = next(c["id"] for c in rows if c["name"].startswith(CAMPAIGN_PREFIX))

    def get(path: str) -> Any:
        r = client.get(path)
        return r.json() if r.status_code == 200 else None

    checks: dict[str, Callable[[], bool]] = {
        "dashboard": lambda: bool(
            (get(f"/api/campaigns/{cid}/dashboard/") or {}).get("annotators")
        ),
        "quality": lambda: has(get(f"/api/campaigns/{cid}/quality/"), "alpha"),
        "review": lambda: bool(_rows(get(f"/api/campaigns/{cid}/review/?dimension=harm"))),
        "classifier": lambda: any(
            v.get("is_active") and v.get("n_predictions")
            for v in _rows(get(f"/api/campaigns/{cid}/classifier/versions/"))
        ),
        "scores": lambda: has((get(f"/api/campaigns/{cid}/scores/") or {}).get("models"), "rate"),
        "leaderboard": lambda: has(_rows(get(f"/api/leaderboard/?campaign={cid}")), "value"),
    }
    while len(seen) < len(checks) + 1 and time.monotonic() - t0 < args.timeout:
        for page, check in checks.items():
            if page not in seen:
                try:
                    if check():
                        seen[page] = since()
                        print(f"{page:<12} {seen[page]:>7.1f} s", flush=True)
                except (httpx.HTTPError, ValueError, KeyError, TypeError):
                    pass
        time.sleep(1)
    missing = [p for p in checks if p not in seen]
    out = {**seen, "missing": missing, "load": [round(x, 2) for x in os.getloadavg()]}
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out))


def _rows(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        return list(body.get("results", []))
    return list(body or [])


if __name__ == "__main__":
    main()
