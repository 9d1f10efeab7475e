"""Clean a corpus too big for an upload: a file or datasets folder under the cleaning root.

    manage.py clean_corpus corpus.jsonl.gz --text-field text --id-field id \
        --classifier 3:0.8 --tagger 5:0.5 --owner admin [--precision int8] [--wait]

Shards run on the workers (as many as run); with --wait the command follows the progress and
sends again the shards of a worker that died (what the filesystem broker never does itself).
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cleaning.models import CleaningJob
from cleaning.services import cleaning_job_create, resend_stale
from core.errors import DomainError


def _choice(raw: str) -> dict[str, Any]:
    version, _, threshold = raw.partition(":")
    try:
        return {"version": int(version), "threshold": float(threshold or 0.5)}
    except ValueError as exc:
        raise CommandError(f"{raw!r}: expected VERSION_ID[:THRESHOLD]") from exc


class Command(BaseCommand):
    help = "Start a cleaning job over a corpus on the workers' storage"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Under ASSAY_CLEANING_ROOT (relative or absolute)")
        parser.add_argument("--text-field", required=True)
        parser.add_argument("--id-field", required=True)
        parser.add_argument("--classifier", action="append", default=[], metavar="ID[:T]")
        parser.add_argument("--tagger", metavar="ID[:T]")
        parser.add_argument("--mask-mode", choices=["replace", "delete"], default="replace")
        parser.add_argument("--replacement", default="[REDACTED:{label}]")
        parser.add_argument("--shard-size", type=int)
        parser.add_argument(
            "--precision",
            choices=["fp32", "int8"],
            default="fp32",
            help="int8: transformer classifiers with int8 Linear layers on CPU workers",
        )
        parser.add_argument("--owner", required=True, help="Username the job belongs to")
        parser.add_argument("--name", default="")
        parser.add_argument("--wait", action="store_true", help="Follow until it finishes")

    def handle(self, *args: Any, **opts: Any) -> None:
        owner = get_user_model().objects.filter(username=opts["owner"]).first()
        if owner is None:
            raise CommandError(f"no user {opts['owner']!r}")
        try:
            job = cleaning_job_create(
                user=owner,
                name=opts["name"],
                path=opts["path"],
                text_field=opts["text_field"],
                id_field=opts["id_field"],
                document_classifiers=[_choice(c) for c in opts["classifier"]],
                tagger=_choice(opts["tagger"]) if opts["tagger"] else None,
                mask_mode=opts["mask_mode"],
                replacement=opts["replacement"],
                shard_size=opts["shard_size"],
                precision=opts["precision"],
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message} ({', '.join(exc.errors)})") from exc
        self.stdout.write(f"cleaning job {job.pk} queued on {job.queue}; output {job.output_dir}")
        if opts["wait"]:
            self._follow(job.pk)

    def _follow(self, job_id: int) -> None:
        last_sweep = time.monotonic()
        while True:
            job = CleaningJob.objects.get(pk=job_id)
            done = sum(job.shards.values_list("done", flat=True))
            self.stdout.write(
                f"{job.status}: {job.shards_done}/{job.shards_total} shards, "
                f"{done}/{job.total_docs} documents"
            )
            if job.status in ("succeeded", "failed", "cancelled"):
                if job.status != "succeeded":
                    raise CommandError(job.error or job.status)
                return
            if time.monotonic() - last_sweep > 10:
                resend_stale(job_id)
                last_sweep = time.monotonic()
            time.sleep(2)
