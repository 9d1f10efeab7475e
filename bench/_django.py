"""Start Django inside a benchmark process, on the database and var dir the benchmark chose."""

from __future__ import annotations

import os


def setup_django(**env: str) -> None:
    """Set `env` (ASSAY_VAR_DIR, DATABASE_URL, ...) over the environment, start Django with
    Assay's settings and migrate the database."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
