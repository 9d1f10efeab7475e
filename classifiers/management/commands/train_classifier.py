"""Train a classifier for a campaign in this process, without a worker.

    manage.py train_classifier --campaign 7 [--target harm] [--backend tfidf_logreg]
    manage.py train_classifier --campaign "Harm in chatbot answers" --if-due
    manage.py train_classifier --all-due

The run is requested as the API requests one (same checks, same row, same promotion rule) and
carried through here; the task that the request also queues finds it finished and does nothing
(and when a running worker takes that task first, the command waits for the worker's result).
`--if-due` trains only when the campaign's automatic retraining would (`retrain_every` new
labels since the last run), so a set-up script can call it every time; `--all-due` does that
for every campaign. `make run` calls it after loading the demo, so the campaign with real labels
has a classifier before the workers start (it would otherwise wait behind the generation chunks
already queued for the `gpu` worker).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifiers.models import ClassifierVersion, TrainingRun
from classifiers.selectors import primary_target
from classifiers.services.runs import expire_dead_runs, retrain_if_due, training_run_request
from classifiers.services.training import training_run_execute
from core.errors import DomainError
from labeling.models import Campaign


class Command(BaseCommand):
    help = "Train a classifier for a campaign in this process (no worker needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--campaign", help="campaign id or exact name")
        which.add_argument(
            "--all-due", action="store_true", help="every campaign whose retraining is due"
        )
        parser.add_argument("--target", default="", help="rubric dimension (default: primary)")
        parser.add_argument("--backend", default="tfidf_logreg")
        parser.add_argument(
            "--if-due",
            action="store_true",
            help="only when automatic retraining is due (retrain_every new labels)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["all_due"]:
            for campaign in Campaign.objects.exclude(retrain_every=0).order_by("pk"):
                self._train(campaign, opts, if_due=True)
            return
        self._train(self._campaign(opts["campaign"]), opts, if_due=opts["if_due"])

    def _train(self, campaign: Campaign, opts: dict[str, Any], *, if_due: bool) -> None:
        if if_due:
            run = retrain_if_due(campaign.pk)
            if run is None:
                self.stdout.write(f"campaign {campaign.pk}: no training due")
                return
        else:
            target = opts["target"] or primary_target(campaign)
            if not target:
                raise CommandError(f"campaign {campaign.pk} has no dimension to train on")
            try:
                run = training_run_request(
                    campaign=campaign, target=target, backend=opts["backend"]
                )
            except DomainError as exc:
                fields = ", ".join(exc.errors) or "campaign"
                raise CommandError(f"{fields}: {exc.message}") from exc
        training_run_execute(run.pk, f"cli-{uuid.uuid4().hex}")
        run.refresh_from_db()
        if run.status in (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING):
            # A running worker took the queued task first: it trains; wait for it.
            self.stdout.write(f"campaign {campaign.pk}: run {run.pk} is training on a worker")
            while run.status in (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING):
                time.sleep(2)
                expire_dead_runs(campaign, run.target)  # a worker that died fails it, in time
                run.refresh_from_db()
        if run.status != TrainingRun.Status.SUCCEEDED:
            raise CommandError(f"training run {run.pk} {run.status}: {run.error[-2000:]}")
        version = ClassifierVersion.objects.filter(run=run).first()
        where = (
            f"version {version.name} ({'active' if version.is_active else 'not promoted'})"
            if version
            else "no version"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"campaign {campaign.pk}: run {run.pk} ({run.backend}, {run.target}) -> {where}"
            )
        )

    def _campaign(self, ref: str) -> Campaign:
        found = (
            Campaign.objects.filter(pk=int(ref)).first()
            if ref.isdigit()
            else Campaign.objects.filter(name=ref).first()
        )
        if found is None:
            raise CommandError(f"campaign {ref!r} not found (an id or the exact name)")
        return found
