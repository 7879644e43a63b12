"""One output behaviour for every list and show command: ``--format table|csv|json``."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import click

from outreach.csvcells import neutralise_formula

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "csv", "json")


def output_options(fn: F) -> F:
    """Add ``--format`` (and ``--json``/``--csv`` shortcuts) to a command."""
    fn = click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format.",
    )(fn)
    return fn


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(to_text(v) for v in value)
    return str(value)


def to_json_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


def render_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], width: int) -> str:
    """Aligned columns that fit *width*; the widest columns are cut with '…'."""
    cells = [[to_text(row.get(c)).replace("\n", " ") for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    gap = 2
    total = sum(widths) + gap * (len(columns) - 1)
    while total > width and max(widths) > 8:
        i = widths.index(max(widths))
        widths[i] -= 1
        total -= 1

    def fit(text: str, w: int) -> str:
        return text if len(text) <= w else text[: max(w - 1, 0)] + "…"

    lines = ["  ".join(fit(c.upper(), w).ljust(w) for c, w in zip(columns, widths, strict=True))]
    for r in cells:
        lines.append("  ".join(fit(t, w).ljust(w) for t, w in zip(r, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


def emit(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    json_columns: Sequence[str] | None = None,
) -> None:
    """Print *rows* in *fmt*. JSON carries every key (or *json_columns*)."""
    rows = list(rows)
    if fmt == "json":
        keys = json_columns
        data = [{k: to_json_value(row.get(k)) for k in (keys or row.keys())} for row in rows]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([neutralise_formula(to_text(row.get(c))) for c in columns])
        click.echo(buf.getvalue(), nl=False)
    else:
        if not rows:
            click.echo("(none)", err=True)
            return
        width = shutil.get_terminal_size((100, 24)).columns
        click.echo(render_table(rows, columns, width))


def emit_record(record: Mapping[str, Any], fmt: str) -> None:
    """Print one record: ``key  value`` lines, or CSV/JSON of one row."""
    if fmt == "json":
        click.echo(json.dumps(to_json_value(dict(record)), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        emit([record], list(record.keys()), "csv")
    else:
        width = max((len(k) for k in record), default=0)
        for key, value in record.items():
            click.echo(f"{key.ljust(width)}  {to_text(value)}")
