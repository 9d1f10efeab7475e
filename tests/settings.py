"""Settings for the test suite: the app's own, with var/ moved aside.

Tests get their own SQLite file and filesystem broker folder, so a `make run` on the same
checkout and the test suite never share a database or a queue.
"""

import os
from pathlib import Path

os.environ.setdefault("ASSAY_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from assay.settings import *  # noqa: F403

# Hashing with the real hasher costs half a second per test user.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
