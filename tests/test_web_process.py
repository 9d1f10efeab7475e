"""A web process never imports torch or transformers (only worker tasks do).

Checked in a fresh interpreter: the test process itself may have imported them (model tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings

# numpy and the statistics libraries belong to the workers too (scores, consensus, training).
HEAVY = ("torch", "transformers", "numpy", "pandas", "sklearn", "crowdkit", "pyarrow")

SCRIPT = r"""
import json, sys

import django

django.setup()

from django.core.management import call_command

call_command("migrate", verbosity=0)

from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

import assay.urls  # noqa: F401
from assay.wsgi import application  # noqa: F401
import generation.tasks  # noqa: F401  (the web process enqueues through it)


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


routes = list(walk(get_resolver().url_patterns))
for path in ("/api/campaigns/1/next/", "/api/assignments/1/submit/", "/api/jobs/1/restart/",
             "/api/models/1/scores/", "/healthz"):
    resolve(path)

client = Client()
status = {
    "schema": client.get("/api/schema/").status_code,
    "healthz": client.get("/healthz").status_code,
    "home_anonymous": client.get("/").status_code,
    "campaigns_anonymous": client.get("/api/campaigns/").status_code,
}
user = get_user_model().objects.create_user("web-check", password="web-check-pw")
client.force_login(user)
status["home"] = client.get("/").status_code
status["campaigns"] = client.get("/api/campaigns/").status_code
status["me"] = client.get("/api/me/").status_code
status["rubric"] = client.get("/api/rubrics/default/").status_code

# A control run names a module to import last, to show the probe does see heavy imports.
for extra in sys.argv[1:]:
    __import__(extra)

print(json.dumps({
    "routes": len(routes),
    "status": status,
    "loaded": {name: name in sys.modules for name in __HEAVY__},
    "heavy_prefixes": sorted({m.split(".")[0] for m in sys.modules
                              if m.split(".")[0] in __HEAVY__}),
}))
"""


def _run_web_process(tmp_path: Path, *extra_imports: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "assay.settings",
        "ASSAY_VAR_DIR": str(tmp_path / "var"),
        "SQLITE_PATH": str(tmp_path / "web.sqlite3"),
        "SECRET_KEY": "web-process-test-key",
        "DEBUG": "false",
    }
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("__HEAVY__", repr(HEAVY)), *extra_imports],
        cwd=str(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def test_web_process_does_not_import_torch_or_transformers(tmp_path: Path) -> None:
    report = _run_web_process(tmp_path)
    assert report["status"] == {
        "schema": 200,
        "healthz": 200,
        "home_anonymous": 302,  # the app's pages are behind the login
        "campaigns_anonymous": 401,  # with WWW-Authenticate: Token
        "home": 200,
        "campaigns": 200,
        "me": 200,
        "rubric": 200,
    }
    assert report["routes"] > 20
    assert report["loaded"] == dict.fromkeys(HEAVY, False), report["heavy_prefixes"]
    # The temp database was really used, not the developer's var/.
    assert (tmp_path / "web.sqlite3").exists()


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """Control: a worker-only module does pull torch in, and the probe reports it."""
    report = _run_web_process(tmp_path, "generation.backends.transformers_backend")
    assert report["loaded"]["torch"] is True
