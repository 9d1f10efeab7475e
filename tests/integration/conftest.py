from __future__ import annotations

import pytest
from django.conf import settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _needs_postgres_and_redis() -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine or not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail(
            "the integration suite runs on PostgreSQL and Redis: "
            "use `make test-integration` (sets DATABASE_URL and CELERY_BROKER_URL)"
        )
