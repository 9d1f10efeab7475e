"""Remove the rows of prompt imports that failed or whose process died (never visible)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from labeling.campaigns.services import prompt_imports_cleanup


class Command(BaseCommand):
    help = (
        "Fail pending prompt imports whose heartbeat stopped and delete the rows of failed "
        "imports (they were never visible). Every import also does this for its campaign."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = prompt_imports_cleanup()
        self.stdout.write(f"deleted {deleted} rows of failed prompt imports")
