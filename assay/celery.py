import os
from typing import Any

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")

app = Celery("assay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _share_the_cores(**_: Any) -> None:
    """Before any task imports torch: this worker's share of the cores (ASSAY_TORCH_THREADS).

    In the worker's main process, so prefork children inherit the variables; the backends also
    call torch.set_num_threads before work (core.threads.set_torch_threads).
    """
    from django.conf import settings

    from core.threads import apply_thread_env

    apply_thread_env(settings.ASSAY_TORCH_THREADS)
