"""Start a real Celery worker process against the test database and broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def worker_env(**extra: str) -> dict[str, str]:
    """The worker sees the database the test runner created (test_* name), not the default."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    env.update(extra)
    return env


@contextmanager
def celery_worker(
    log_path: Path,
    *,
    queues: str = "gpu,default",
    purge: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker (both queues unless told), in its own process group so a test can kill it.

    A second worker started beside a running one passes purge=False: purging the filesystem
    broker would drop messages the first one has yet to take.
    """
    if purge:
        _purge_filesystem_broker()
    name = queues.replace(",", "-")
    cmd = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "assay",
        "worker",
        "-Q",
        queues,
        "-n",
        f"{name}-{os.getpid()}@%h",
        "-c",
        "1",
        "-P",
        "solo",
        "-l",
        "info",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=worker_env(**(env or {})),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        kill(proc)


def _purge_filesystem_broker() -> None:
    # Messages left by an earlier, aborted run would name jobs of another test database.
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        for path in folder.glob("*"):
            path.unlink(missing_ok=True)


def kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\nworker log:\n{tail}")
