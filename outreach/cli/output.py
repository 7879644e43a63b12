"""One output behaviour for every list and show command: ``--format table|csv|json``.

Stored text shown to a person (tables, ``show`` records, messages that name
records, errors) goes through :func:`outreach.safetext.for_terminal`: control
characters, line/paragraph separators and bidi controls appear as visible
escapes (``\\x1b``), always, terminal or not, so a stored name can never
drive the terminal. ``--format json`` keeps the exact data (control
characters, C1 and separators as JSON ``\\u`` escapes); ``--format csv`` keeps
the exact data (with spreadsheet formulas neutralised) for programs.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click

from outreach.csvcells import csv_text
from outreach.safetext import for_terminal, json_for_terminal


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


def safe(value: Any) -> str:
    """*value* as one line of text safe to print (see the module's docstring)."""
    return for_terminal(to_text(value))


def echo(message: str, *, err: bool = False, multiline: bool = False, nl: bool = True) -> None:
    """``click.echo`` for a message that holds stored text: neutralised first
    (with *multiline*, tabs and line feeds are kept)."""
    click.echo(for_terminal(message, multiline=multiline), err=err, nl=nl)


def json_text(data: Any) -> str:
    """*data* as indented JSON; C1 controls, separators and bidi controls (which
    JSON allows raw) written as ``\\u`` escapes, so the text is safe to print."""
    return json_for_terminal(json.dumps(data, ensure_ascii=False, indent=2))


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
    cells = [[safe(to_text(row.get(c)).replace("\n", " ")) for c in columns] for row in rows]
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
        click.echo(json_text(data))
    elif fmt == "csv":
        text = csv_text([columns, *([to_text(row.get(c)) for c in columns] for row in rows)])
        # color=True: click would otherwise drop "ESC [ ..." from the data
        # when the output is not a terminal; CSV carries it exactly.
        click.echo(text, nl=False, color=True)
    else:
        if not rows:
            click.echo("(none)", err=True)
            return
        width = shutil.get_terminal_size((100, 24)).columns
        click.echo(render_table(rows, columns, width))


def emit_record(record: Mapping[str, Any], fmt: str) -> None:
    """Print one record: ``key  value`` lines, or CSV/JSON of one row."""
    if fmt == "json":
        click.echo(json_text(to_json_value(dict(record))))
    elif fmt == "csv":
        emit([record], list(record.keys()), "csv")
    else:
        width = max((len(k) for k in record), default=0)
        for key, value in record.items():
            text = for_terminal(to_text(value), multiline=True)
            click.echo(f"{safe(key).ljust(width)}  {text}")
