"""The one bulk row writer: many rows into one table, as fast as the backend
allows, in the caller's transaction.

PostgreSQL gets ``COPY ... FROM STDIN`` (several times faster than
executemany); SQLite gets ``executemany`` on the driver, a chunk at a time.
Values go through the column types' own bind processors, so what is stored
is exactly what an ORM or Core insert would store: aware datetimes in UTC,
enum members as their values, JSON as JSON (a ``None`` in a JSON column is
stored the way the column's type stores it: JSON ``null`` unless the type
says ``none_as_null``, or the call does: ``none_as_null=True`` stores SQL
``NULL`` in every JSON column). Column defaults are *not* applied: give every
column that needs a value.

- :func:`insert_rows` takes all the rows at once (a list), and writes what is
  the same in every row once;
- :func:`row_writer` streams: a function that takes one row at a time, so
  rows can be stored while the next are still being made.

*progress*, if given, is called with a number of rows each time that many
have been sent to the database (:data:`INSERT_CHUNK` at a time, and the rest
at the end).

A value a column type refuses raises :class:`~sqlalchemy.exc.StatementError`,
and a value the database refuses SQLAlchemy's :class:`~sqlalchemy.exc.DBAPIError`
subclass for it (``IntegrityError``, ``DataError``...) on both backends, as a
Core insert would (the ``COPY`` driver's own errors are wrapped the same way).
An error inside a :func:`row_writer` block inserts nothing of what was
written on PostgreSQL (the ``COPY`` is aborted); on SQLite the rows already
sent stay in the transaction, which the caller then rolls back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

#: Rows per executemany on SQLite.
INSERT_CHUNK = 1000

Row = Sequence[Any]
Writer = Callable[[Row], None]
Progress = Callable[[int], None]


def insert_rows(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Row],
    *,
    none_as_null: bool = False,
    progress: Progress | None = None,
) -> int:
    """Insert *rows* (sequences of values in *columns* order) into *table*;
    returns how many.

    A value that is the same in every row (a timestamp, a default flag) is
    converted once, and on SQLite written into the statement as a literal
    instead of being bound once per row; a nullable column that is NULL in
    every row is left out."""
    if not rows:
        return 0
    names = list(columns)
    first = rows[0]
    keep: list[int] = []
    constants: dict[str, Any] = {}
    for i, name in enumerate(names):
        value = first[i]
        if _always_null(table.c[name], none_as_null) and all(row[i] is None for row in rows):
            continue
        if _hashable_scalar(value) and all(row[i] == value for row in rows):
            constants[name] = value
        else:
            keep.append(i)
    pick = _picker(keep)
    with row_writer(
        conn,
        table,
        [names[i] for i in keep],
        constants,
        none_as_null=none_as_null,
        progress=progress,
    ) as write:
        for row in rows:
            write(pick(row))
    return len(rows)


@contextlib.contextmanager
def row_writer(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    constants: Mapping[str, Any] | None = None,
    *,
    none_as_null: bool = False,
    progress: Progress | None = None,
) -> Iterator[Writer]:
    """A function that inserts one row (values in *columns* order) into
    *table*, for a block; *constants* are the values of further columns, the
    same for every row (converted once).

    On PostgreSQL each row goes straight into a ``COPY`` (opened at the first
    row); on SQLite the rows are inserted by executemany, :data:`INSERT_CHUNK`
    at a time (so other processes can work while this one inserts)."""
    constants = dict(constants or {})
    dialect = conn.dialect
    postgres = dialect.name == "postgresql"
    procs = [_processor(table.c[n].type, dialect, none_as_null) for n in columns]
    const_names = list(constants)
    const_values = [
        _convert_one(_processor(table.c[n].type, dialect, none_as_null), constants[n])
        for n in const_names
    ]
    prep = dialect.identifier_preparer
    target = prep.format_table(table)
    if postgres:
        names = [*columns, *const_names]
        convert = _row_converter(procs, tuple(const_values))
        sent = 0
        with _driver_errors(conn, f"COPY {target}"), contextlib.ExitStack() as stack:
            copy: Any = None

            def write(row: Row) -> None:
                nonlocal copy, sent
                if copy is None:
                    copy = _open_copy(conn, stack, target, [prep.quote(n) for n in names])
                copy.write_row(_converted(convert, row, target))
                if progress is not None:
                    sent += 1
                    if sent == INSERT_CHUNK:
                        progress(sent)
                        sent = 0

            yield write
        if progress is not None and sent:
            progress(sent)
        return
    # SQLite: constants that can be literals go into the statement itself.
    slots = ["?"] * len(columns)
    bound_tail: list[Any] = []
    for value in const_values:
        literal = _sql_literal(value)
        slots.append(literal if literal is not None else "?")
        if literal is None:
            bound_tail.append(value)
    convert = _row_converter(procs, tuple(bound_tail))
    names = [*columns, *const_names]
    sql = (
        f"INSERT INTO {target} ({', '.join(prep.quote(n) for n in names)}) "
        f"VALUES ({', '.join(slots)})"
    )
    pending: list[Row] = []

    def flush() -> None:
        conn.exec_driver_sql(sql, pending)
        if progress is not None:
            progress(len(pending))
        pending.clear()

    def add(row: Row) -> None:
        pending.append(_converted(convert, row, target))
        if len(pending) >= INSERT_CHUNK:
            flush()

    yield add
    if pending:
        flush()


# --- the steps -----------------------------------------------------------------


@contextlib.contextmanager
def _driver_errors(conn: sa.Connection, statement: str) -> Iterator[None]:
    """Raise what the driver raises straight (a ``COPY`` bypasses SQLAlchemy)
    as the :class:`~sqlalchemy.exc.DBAPIError` a Core statement would."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(
            statement, None, exc, dbapi.Error, dialect=conn.dialect
        ) from exc


def _converted(convert: Callable[[Row], Row], row: Row, target: str) -> Row:
    """*row* converted, or the :class:`~sqlalchemy.exc.StatementError` a Core
    insert raises for a value its column type refuses (an unknown enum value)."""
    try:
        return convert(row)
    except Exception as exc:
        raise sa.exc.StatementError(str(exc), f"INSERT INTO {target}", row, exc) from exc


def _open_copy(
    conn: sa.Connection, stack: contextlib.ExitStack, target: str, quoted: list[str]
) -> Any:
    """A psycopg ``COPY ... FROM STDIN`` into *target*, closed by *stack*,
    in *conn*'s transaction."""
    driver = conn.connection.driver_connection
    cursor = stack.enter_context(driver.cursor())  # type: ignore[union-attr]
    return stack.enter_context(cursor.copy(f"COPY {target} ({', '.join(quoted)}) FROM STDIN"))


def _processor(
    col_type: sa.types.TypeEngine[Any], dialect: sa.Dialect, none_as_null: bool = False
) -> Any:
    """What turns a Python value into what the driver takes, or ``None``;
    with *none_as_null* a JSON column's ``None`` becomes SQL ``NULL``."""
    is_json = isinstance(col_type, sa.JSON)
    null = is_json and (none_as_null or col_type.none_as_null)
    if is_json and dialect.name == "postgresql":
        # COPY takes the JSON text itself.
        return lambda value: None if value is None and null else _pg_json(value)
    proc = col_type._cached_bind_processor(dialect)
    if null and proc is not None and not col_type.none_as_null:
        return lambda value: None if value is None else proc(value)
    return proc


def _pg_json(value: Any) -> str:
    if value is sa.JSON.NULL:  # JSON null asked for explicitly (with none_as_null)
        return "null"
    return json.dumps(value, ensure_ascii=False)


def _convert_one(proc: Any, value: Any) -> Any:
    return proc(value) if proc is not None else value


def _row_converter(procs: list[Any], tail: tuple[Any, ...]) -> Callable[[Row], Row]:
    """A function converting one row's values with *procs* (memoised: the
    same timestamps and tag lists repeat a lot) and adding *tail* (the
    converted constants) to it."""
    steps = [(i, _cached(p)) for i, p in enumerate(procs) if p is not None]
    if not steps:
        return (lambda row: (*row, *tail)) if tail else tuple

    def convert(row: Row) -> tuple[Any, ...]:
        out = list(row)
        for i, run in steps:
            out[i] = run(out[i])
        return (*out, *tail)

    return convert


def _cached(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cache: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        try:
            key = tuple(value) if value.__class__ is list else value
            return cache[key]
        except KeyError:
            out = cache[key] = fn(value)
            return out
        except TypeError:  # unhashable (a dict of changes, a list of lists)
            return fn(value)

    return run


def _always_null(column: sa.Column[Any], none_as_null: bool = False) -> bool:
    """Whether leaving *column* out stores what a NULL would: nullable, no
    server default, and not JSON (where ``None`` may mean JSON ``null``)
    unless ``None`` is stored as SQL ``NULL`` there."""
    return (
        bool(column.nullable)
        and column.server_default is None
        and (none_as_null or not isinstance(column.type, sa.JSON))
    )


def _hashable_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | dt.date)


def _picker(keep: list[int]) -> Callable[[Row], Row]:
    if len(keep) == 1:
        only = keep[0]
        return lambda row: (row[only],)
    if not keep:
        return lambda row: ()
    return operator.itemgetter(*keep)  # type: ignore[return-value]


def _sql_literal(value: Any) -> str | None:
    """*value* (as the driver takes it) as an SQLite literal, or ``None`` if it
    should stay a parameter."""
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "1" if value else "0"
    if type(value) is int:
        return str(value)
    if type(value) is str and "\x00" not in value and len(value) < 200:
        return "'" + value.replace("'", "''") + "'"
    return None
