"""The `next` picks' index use, checked on PostgreSQL too (the planner differs from SQLite's)."""

import pytest

from tests.labeling.test_queue import test_each_pick_uses_its_index

pytestmark = pytest.mark.django_db

__all__ = ["test_each_pick_uses_its_index"]
