"""Model instances from hand-written SQL, built exactly as the ORM builds them.

For the few statements on a hot path (labeling/queue/sql.py, core/auth.py): the row goes
through the backend's converters (dates on SQLite, JSON, booleans) and ``Model.from_db``, so
callers cannot tell it from an ORM row; a field left out of a statement loads on first access,
as with ``.only()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def hot_cursor() -> Any:
    """A cursor for the hot path's fixed statements.

    On PostgreSQL it binds parameters on the server, so psycopg prepares a statement once it
    has run `prepare_threshold` times on the connection (settings: PG_PREPARE_THRESHOLD) and
    PostgreSQL stops parsing and planning it per request. Django's own cursors bind on the
    client, which never prepares. It is wrapped as Django wraps its cursors (thread checks).
    Elsewhere, and while Django logs queries (DEBUG, or a test capturing them: a prepared
    statement's SQL text is not kept for the log), it is Django's own cursor.
    """
    if connection.vendor != "postgresql" or connection.queries_logged:
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    raw = ServerBindingCursor(connection.connection)  # type: ignore[call-arg]
    return connection._prepare_cursor(raw)  # type: ignore[attr-defined]


class Columns(Generic[M]):
    """Some (default: all) concrete columns of a model: their SQL and a row-to-instance builder."""

    def __init__(self, model: type[M], names: Sequence[str] | None = None) -> None:
        self.model = model
        concrete = model._meta.concrete_fields
        self.fields: list[Field[Any, Any]] = (
            list(concrete) if names is None else [model._meta.get_field(n) for n in names]  # type: ignore[misc]
        )
        self.attnames = [f.attname for f in self.fields]
        self._converters: list[tuple[Any, list[Any]]] | None = None

    def __len__(self) -> int:
        return len(self.fields)

    def sql(self, alias: str) -> str:
        return ", ".join(f'{alias}."{f.column}"' for f in self.fields)

    def _conv(self) -> list[tuple[Any, list[Any]]]:
        # The same converters the ORM's compiler applies (dates on SQLite, JSON, booleans).
        if self._converters is None:
            self._converters = []
            for f in self.fields:
                col = f.get_col(self.model._meta.db_table)
                convs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                self._converters.append((col, convs))
        return self._converters

    def build(self, row: Sequence[Any]) -> M:
        values = list(row)
        for i, (col, convs) in enumerate(self._conv()):
            for conv in convs:
                values[i] = conv(values[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


def split_row(row: Sequence[Any], *parts: Columns[Any]) -> list[Any]:
    """Build one instance per part from consecutive slices of a joined row; the rest as is."""
    out: list[Any] = []
    at = 0
    for part in parts:
        out.append(part.build(row[at : at + len(part)]))
        at += len(part)
    out.extend(row[at:])
    return out
