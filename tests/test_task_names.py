"""Tasks sent by name must exist under that name: labeling sends the classifier app's retrain
check by name (it never imports classifiers), so a rename on either side would go unnoticed."""

from __future__ import annotations

from assay.celery import app
from classifiers.tasks import RETRAIN_IF_DUE, TRAIN_RUN
from generation.tasks import RUN_CHUNK, RUN_JOB
from labeling.quality.consensus import RETRAIN_HOOK
from labeling.quality.tasks import REFIT_CONSENSUS
from labeling.scores.tasks import REFRESH_SCORES


def test_the_hook_labeling_sends_is_the_classifier_task() -> None:
    assert RETRAIN_HOOK == RETRAIN_IF_DUE


def test_every_task_name_is_registered_with_the_worker_app() -> None:
    app.loader.import_default_modules()
    for name in (RETRAIN_HOOK, TRAIN_RUN, RUN_JOB, RUN_CHUNK, REFIT_CONSENSUS, REFRESH_SCORES):
        assert name in app.tasks, name


def test_routes_send_generation_and_training_to_the_gpu_queue() -> None:
    route = app.amqp.router.route
    assert route({}, RUN_JOB)["queue"].name == "gpu"
    assert route({}, RUN_CHUNK)["queue"].name == "gpu"
    assert route({}, TRAIN_RUN)["queue"].name == "gpu"
    assert route({}, REFIT_CONSENSUS)["queue"].name == "default"
    assert route({}, REFRESH_SCORES)["queue"].name == "default"
