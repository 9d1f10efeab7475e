"""PostgreSQL restarted under a running web process while annotators work.

The test starts a PostgreSQL server of its own (initdb into a temp folder, its own port; the
machine's server on 5432 is left alone; as root, initdb and pg_ctl run as the `postgres` user
through runuser), migrates it, and serves the app from it with gunicorn. Annotator threads
label through HTTP while the server is stopped for a few seconds and started again:

- every request during the outage answers 503 in the API's error shape, never 500;
- afterwards requests succeed again from the same web process (no restart): at once with
  CONN_HEALTH_CHECKS=1, and with the default after at most one 503 per server thread (each
  idle persistent connection fails once, then Django drops it);
- every submit that answered 201 is stored, once.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests
from django.conf import settings

from tests.worker import ROOT, kill

WEB_THREADS = 4
ANNOTATORS = 6
OUTAGE_S = 3.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[-3])
    )
    if not found:
        pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return Path(found[-1]).parent


class TempPostgres:
    """A throwaway server: initdb, start, stop. Root may not run it, so as root it runs as the
    `postgres` user (the package's) in a folder handed to that user."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="assay-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._as_owner(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/assay"

    def _as_owner(self, cmd: list[str]) -> None:
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        self._as_owner(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def stop(self) -> None:
        self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):  # not running
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg() -> Iterator[TempPostgres]:
    server = TempPostgres()
    server.start()
    try:
        url = server.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE assay")
        _manage(server, "migrate", "--noinput", "-v0")
        yield server
    finally:
        server.remove()


def _env(pg: TempPostgres, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=pg.url,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        **extra,
    )
    return env


def _manage(pg: TempPostgres, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_env(pg),
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout


SEED = """
import json
from rest_framework.authtoken.models import Token
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory
campaign = CampaignFactory.create(overlap=2)
for _ in range(400):
    ItemFactory.create(campaign=campaign, prompt__campaign=campaign)
tokens = [
    Token.objects.create(
        user=MembershipFactory.create(
            campaign=campaign, user__username=f"ann-{{campaign.pk}}-{{i}}"
        ).user
    ).key
    for i in range({n})
]
print(json.dumps({{"campaign": campaign.pk, "tokens": tokens}}))
"""


@dataclass
class Seen:
    """What the annotators got, each answer with when its request was sent."""

    answers: list[tuple[float, str, int, dict[str, Any], str]] = field(default_factory=list)
    stored: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sent: float, what: str, r: requests.Response) -> None:
        try:
            body = r.json()
        except ValueError:
            body = {"not json": r.text[:200]}
        with self.lock:
            self.answers.append((sent, what, r.status_code, body, r.headers.get("Retry-After", "")))
            if what == "submit" and r.status_code == 201:
                self.stored.append(body["id"])

    def count(self, status: int, after: float = 0.0) -> int:
        return sum(1 for t, _, s, _, _ in self.answers if s == status and t >= after)


def _annotate(base: str, campaign: int, token: str, seen: Seen, stop: threading.Event) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Token {token}"
    while not stop.is_set():
        sent = time.monotonic()
        r = http.post(f"{base}/api/campaigns/{campaign}/next/", timeout=30)
        seen.add(sent, "next", r)
        lease = r.json().get("assignment") if r.status_code == 200 else None
        if lease is None:
            time.sleep(0.05)
            continue
        sent = time.monotonic()
        r = http.post(
            f"{base}/api/assignments/{lease['id']}/submit/",
            json={
                "values": {
                    "harm": "safe",
                    "bias": "none",
                    "truthfulness": "truthful",
                    "informative": "yes",
                    "fluency": 4,
                }
            },
            timeout=30,
        )
        seen.add(sent, "submit", r)


@contextmanager
def _web(pg: TempPostgres, log: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """gunicorn serving the app from `pg`, as `make run` does (threads, persistent connections)."""
    port = _free_port()
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "assay.wsgi",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "1",
        "-k",
        "gthread",
        "--threads",
        str(WEB_THREADS),
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=_env(pg, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base, proc
    finally:
        kill(proc)


def _stored_annotations(pg: TempPostgres) -> list[tuple[int, int, int]]:
    with psycopg.connect(pg.url) as conn:
        rows = conn.execute("SELECT id, item_id, annotator_id FROM labeling_annotation").fetchall()
    return [(int(a), int(b), int(c)) for a, b, c in rows]


@pytest.mark.parametrize("health_checks", ["0", "1"], ids=["default", "health_checks"])
def test_a_database_restart_answers_503_and_the_web_process_recovers(
    pg: TempPostgres, health_checks: str, tmp_path: Path
) -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    before = {a for a, _, _ in _stored_annotations(pg)}
    seed = json.loads(
        _manage(pg, "shell", "-c", SEED.format(n=ANNOTATORS)).strip().splitlines()[-1]
    )
    seen, stop = Seen(), threading.Event()
    log = tmp_path / "web.log"
    with _web(pg, log, CONN_HEALTH_CHECKS=health_checks) as (base, web):
        threads = [
            threading.Thread(target=_annotate, args=(base, seed["campaign"], t, seen, stop))
            for t in seed["tokens"]
        ]
        for t in threads:
            t.start()
        try:
            _wait(lambda: seen.count(201) >= 20, "labels before the outage", log)
            pg.stop()
            down = time.monotonic()
            time.sleep(OUTAGE_S)
            during = seen.count(503, after=down)
            pg.start()
            up = time.monotonic()
            _wait(lambda: seen.count(201, after=up) >= 20, "labels after the restart", log)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        assert web.poll() is None, "the web process died"
    statuses = {s for _, _, s, _, _ in seen.answers}
    assert 500 not in statuses and statuses <= {200, 201, 409, 503}, statuses
    assert during > 0, "no request reached the server while the database was down"
    for _, what, status, body, retry_after in seen.answers:
        if status == 503:
            assert body.get("code") == "database_unavailable", (what, body)
            assert body.get("detail") and retry_after, (what, body)
    after = seen.count(503, after=up)
    print(
        f"\n{health_checks=}: {seen.count(201)} labels, 503s: {during} in the outage, {after} after"
    )
    assert after <= (0 if health_checks == "1" else WEB_THREADS), after
    stored = {a: (item, annotator) for a, item, annotator in _stored_annotations(pg)}
    assert set(seen.stored) <= set(stored), "a submit answered 201 but was not stored"
    assert len(seen.stored) == len(set(seen.stored))
    new = [pair for a, pair in stored.items() if a not in before]
    assert len(new) == len(set(new)), "an item was labeled twice by one annotator"


def _wait(predicate: Any, what: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
