"""How each column's values go into an archive and come back out: portable
JSON values, whatever the backend.

Timestamps are ISO 8601 in UTC (``2012-07-12T14:00:00Z``), dates
``YYYY-MM-DD``, booleans ``true``/``false``, enumerations their values,
binary data base64, and JSON columns JSON. A JSON column that is SQL ``NULL``
is left out of its row's object, so that it stays distinct from a stored JSON
``null``.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.sqltypes import _Binary
from sqlalchemy.types import TypeDecorator

from outreach.backup.archive import ArchiveError
from outreach.schema.models import Base


def base_type(col: sa.Column[Any]) -> sa.types.TypeEngine[Any]:
    t = col.type
    while isinstance(t, TypeDecorator):
        t = t.impl_instance
    return t


def encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot store a {type(value).__name__} in a backup")


def _encode_datetime(value: dt.datetime) -> str:
    if value.tzinfo is dt.UTC:
        return value.isoformat().replace("+00:00", "Z")
    return encode(value)


def _encode_plain(value: Any) -> Any:
    if type(value) in (str, int, bool, float):
        return value
    return encode(value)


class ColumnCodec:
    """How one column's values go into and come out of the archive."""

    def __init__(self, col: sa.Column[Any]) -> None:
        self.name = col.name
        base = base_type(col)
        self.is_json = isinstance(base, sa.JSON)
        self.is_enum = isinstance(base, sa.Enum)
        self.kind = (
            "json"
            if self.is_json
            else "datetime"
            if isinstance(base, sa.DateTime)
            else "date"
            if isinstance(base, sa.Date)
            else "time"
            if isinstance(base, sa.Time)
            else "binary"
            if isinstance(base, _Binary)
            else "numeric"
            if isinstance(base, sa.Numeric) and not isinstance(base, sa.Float)
            else "interval"
            if isinstance(base, sa.Interval)
            else "plain"
        )
        #: The JSON types a plain column accepts from an archive.
        self.accepts: tuple[type, ...] | None = (
            (bool,)
            if isinstance(base, sa.Boolean)
            else (int,)
            if isinstance(base, sa.Integer)
            else (str,)
            if isinstance(base, sa.String)
            else (int, float)
            if isinstance(base, sa.Float)
            else None
        )
        self.decode = self._fast_decoder()

    @property
    def encoder(self) -> Callable[[Any], Any] | None:
        """How to write a (non-None) value; ``None`` when JSON takes it as it is."""
        if self.kind == "datetime":
            return _encode_datetime
        if self.kind == "plain" and not self.is_enum:
            return _encode_plain
        return encode

    def _fast_decoder(self) -> Callable[[dict[str, Any]], Any]:
        """``decode`` specialised for the common cases (it runs once per cell)."""
        name, slow = self.name, self._decode
        if self.kind == "plain" and self.accepts is not None:
            exact = set(self.accepts)

            def plain(row: dict[str, Any]) -> Any:
                value = row.get(name)
                if value is None or type(value) in exact:
                    return value
                return slow(row)

            return plain
        if self.kind == "datetime":
            parse = dt.datetime.fromisoformat

            def timestamp(row: dict[str, Any]) -> Any:
                value = row.get(name)
                if value is None:
                    return None
                try:
                    return parse(value)
                except (TypeError, ValueError):
                    return slow(row)

            return timestamp
        return slow

    def _decode(self, row: dict[str, Any]) -> Any:
        if self.is_json:
            if self.name not in row:
                return None  # SQL NULL (the insert binds JSON columns with none_as_null)
            value = row[self.name]
            return sa.JSON.NULL if value is None else value
        value = row.get(self.name)
        if value is None:
            return None
        try:
            if self.kind == "datetime":
                return dt.datetime.fromisoformat(value)
            if self.kind == "date":
                return dt.date.fromisoformat(value)
            if self.kind == "time":
                return dt.time.fromisoformat(value)
            if self.kind == "binary":
                return base64.b64decode(value, validate=True)
            if self.kind == "numeric":
                return decimal.Decimal(value)
            if self.kind == "interval":
                return dt.timedelta(seconds=value)
        except (TypeError, ValueError) as exc:
            raise ArchiveError(f"column {self.name}: bad value {value!r} ({exc})") from None
        if self.accepts is not None and (
            not isinstance(value, self.accepts)
            or (isinstance(value, bool) and bool not in self.accepts)
        ):
            raise ArchiveError(
                f"column {self.name}: {type(value).__name__} value {str(value)[:40]!r} where "
                f"{self.accepts[0].__name__} is expected"
            )
        return value


def tables_at_current_revision(conn: Connection) -> list[sa.Table]:
    """The database's own tables (reflected), typed like the models where they agree."""
    meta = sa.MetaData()
    meta.reflect(conn)
    model_tables = Base.metadata.tables
    out = []
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        model = model_tables.get(table.name)
        if model is not None:
            for col in table.columns:
                if col.name in model.c:
                    col.type = model.c[col.name].type
        out.append(table)
    return out
