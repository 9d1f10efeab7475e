"""Security headers: a Content-Security-Policy with no inline script on every page, API docs
that load nothing from another origin, and HTTPS settings (HSTS, Secure cookies) from the
environment that pass `manage.py check --deploy`."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.labeling.factories_extra import FAST_HASHERS, make_user

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
ELSEWHERE = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def _policy(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = (p.split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.fixture
def browser(db: Any, settings: Any) -> Client:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


PAGES = ["/", "/campaigns/1/label", "/api/docs/", "/api/redoc/", "/admin/", "/api/me/"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_policy_without_inline_script(browser: Client, path: str) -> None:
    r = browser.get(path)
    assert r.status_code == 200
    policy = _policy(r)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    if r["Content-Type"].startswith("text/html"):
        html = r.content.decode()
        assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.findall(html)
        assert "<style" not in html and " style=" not in html
        assert not ELSEWHERE.search(html), ELSEWHERE.findall(html)


def test_the_login_page_has_no_inline_script_or_style(db: Any) -> None:
    r = Client().get("/accounts/login/")
    html = r.content.decode()
    assert _policy(r)["style-src"] == ["'self'"]
    assert not INLINE_SCRIPT.search(html) and "<style" not in html
    assert "/static/assay/pages.css" in html
    assert Client().get("/static/assay/pages.css").status_code == 200


def test_the_built_app_has_no_inline_script() -> None:
    index = ROOT / "frontend" / "dist" / "index.html"
    if not index.exists():
        pytest.skip("frontend/dist is not built (make frontend)")
    html = index.read_text()
    assert not INLINE_SCRIPT.search(html) and not ELSEWHERE.search(html)


def test_only_redoc_may_style_inline_and_the_swagger_init_script_is_a_file(
    browser: Client,
) -> None:
    assert _policy(browser.get("/"))["style-src"] == ["'self'"]
    assert _policy(browser.get("/api/docs/"))["style-src"] == ["'self'"]
    redoc = _policy(browser.get("/api/redoc/"))
    assert redoc["style-src"] == ["'self'", "'unsafe-inline'"]
    assert redoc["script-src"] == ["'self'"] and redoc["worker-src"] == ["blob:"]
    html = browser.get("/api/docs/").content.decode()
    script = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', html)
    assert script, html
    init = browser.get(script.group(1).replace("&amp;", "&"))
    assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in init.content
    assert b'"validatorUrl": null' in init.content  # no badge from validator.swagger.io


def test_redoc_loads_no_google_fonts(browser: Client) -> None:
    html = browser.get("/api/redoc/").content.decode()
    assert "fonts.googleapis" not in html and "fonts.gstatic" not in html
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in html


# --- HTTPS settings from the environment -----------------------------------------------------

CHECK = r"""
import json
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
names = ["DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
         "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
         "SECURE_PROXY_SSL_HEADER"]
print(json.dumps({n: getattr(settings, n) for n in names}))
try:
    call_command("check", deploy=True, fail_level="WARNING")
    print("CLEAN")
except SystemCheckError as exc:
    print(exc)
"""


def _run(tmp_path: Path, **env: str) -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items() if k not in _HTTPS_ENV}
    base.update(
        DJANGO_SETTINGS_MODULE="assay.settings",
        ASSAY_VAR_DIR=str(tmp_path),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="assay.example.org",
    )
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


_HTTPS_ENV = {
    "DEBUG": "false",
    "HTTPS": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https",
}


def test_check_deploy_is_clean_with_the_https_settings_on(tmp_path: Path) -> None:
    code, out = _run(tmp_path, **_HTTPS_ENV)
    assert code == 0 and "CLEAN" in out, out
    assert (
        '{"DEBUG": false, "SECURE_SSL_REDIRECT": true, "SESSION_COOKIE_SECURE": true, '
        '"CSRF_COOKIE_SECURE": true, "SECURE_HSTS_SECONDS": 31536000, '
        '"SECURE_HSTS_INCLUDE_SUBDOMAINS": true, "SECURE_HSTS_PRELOAD": true, '
        '"SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}'
    ) in out


def test_check_deploy_warns_by_default_and_bad_values_stop_the_start(tmp_path: Path) -> None:
    code, out = _run(tmp_path, DEBUG="false")
    assert code == 0 and "CLEAN" not in out, out
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in out
    code, out = _run(tmp_path, HTTPS="sometimes")
    assert code != 0 and "HTTPS='sometimes' is not a boolean" in out


def test_hsts_and_secure_cookies_on_a_secure_request(db: Any, settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    make_user(username="kim")
    client = Client()
    r = client.get("/accounts/login/", secure=True)
    assert r["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert r.cookies["csrftoken"]["secure"]
    csrf = r.cookies["csrftoken"].value
    r = client.post(
        "/accounts/login/",
        {"username": "kim", "password": "pw", "csrfmiddlewaretoken": csrf},
        secure=True,
    )
    assert r.status_code == 302 and r.cookies["sessionid"]["secure"]
