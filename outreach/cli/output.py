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
        # Kept in UTC; shown on the user's clock, as they type times in.
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone().strftime("%Y-%m-%d %H:%M")
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


def display_width(text: str) -> int:
    """Columns *text* takes on a terminal: two for a Chinese character, none
    for a combining accent (``wcwidth``)."""
    from wcwidth import wcswidth

    width = wcswidth(text)
    return width if width >= 0 else len(text)


def _cut(text: str, width: int) -> str:
    """*text* cut to *width* columns, ending in '…' when anything was cut."""
    if display_width(text) <= width:
        return text
    from wcwidth import wcwidth

    out, used = [], 0
    for ch in text:
        w = max(wcwidth(ch), 0)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - display_width(text), 0)


def render_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], width: int | None
) -> str:
    """Aligned columns (by display width: Chinese and Arabic names line up);
    on a terminal of *width* columns the widest columns are cut with '…';
    with *width* None (the output goes to a file or a pipe) nothing is cut."""
    cells = [[safe(to_text(row.get(c)).replace("\n", " ")) for c in columns] for row in rows]
    widths = [
        max([display_width(c)] + [display_width(r[i]) for r in cells])
        for i, c in enumerate(columns)
    ]
    gap = 2
    total = sum(widths) + gap * (len(columns) - 1)
    while width is not None and total > width and max(widths) > 8:
        i = widths.index(max(widths))
        widths[i] -= 1
        total -= 1

    def fit(text: str, w: int) -> str:
        return _pad(_cut(text, w), w)

    lines = ["  ".join(fit(c.upper(), w) for c, w in zip(columns, widths, strict=True))]
    for r in cells:
        lines.append("  ".join(fit(t, w) for t, w in zip(r, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


def _terminal_width() -> int | None:
    """The terminal's width, or None when standard output is not a terminal
    (a table piped to a file keeps every value whole)."""
    import sys

    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size((100, 24)).columns


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
        click.echo(render_table(rows, columns, _terminal_width()))


def emit_record(record: Mapping[str, Any], fmt: str) -> None:
    """Print one record: ``key  value`` lines, or CSV/JSON of one row."""
    if fmt == "json":
        click.echo(json_text(to_json_value(dict(record))))
    elif fmt == "csv":
        emit([record], list(record.keys()), "csv")
    else:
        width = max((display_width(k) for k in record), default=0)
        for key, value in record.items():
            text = for_terminal(to_text(value), multiline=True)
            click.echo(f"{_pad(safe(key), width)}  {text}")
