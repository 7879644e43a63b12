"""Options and parsers that several command groups share.

Only click and the standard library are imported here, so every command
module can use them without slowing ``outreach --help``. The spellings and
help texts are the ones the commands have always had (the README's command
reference is generated from them).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from outreach.cli.output import echo, to_text
from outreach.cli.state import db_option

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "FORMATS",
    "Duration",
    "Moment",
    "db_option",
    "edited_tags",
    "edited_values",
    "export_format",
    "export_options",
    "filter_options",
    "force_option",
    "format_option",
    "given",
    "option_group",
    "output_file_option",
    "output_options",
    "parse_days",
    "report_changes",
    "split_values",
    "templates_option",
    "write_export",
    "yes_option",
]

FORMATS = ("table", "csv", "json")


def option_group(*decorators: Callable[[Any], Any]) -> Callable[[F], F]:
    """One decorator applying *decorators* in the order written (the first
    shown first in ``--help``)."""

    def apply(fn: F) -> F:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


def format_option(choices: tuple[str, ...]) -> Callable[[F], F]:
    """``--format`` among *choices*, ``table`` by default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default="table",
        show_default=True,
        help="Output format.",
    )


#: ``--format table|csv|json`` for every list and show command.
output_options = format_option(FORMATS)

#: ``--force``: archive a directory record instead of removing it.
force_option = click.option(
    "--force", is_flag=True, help="Archive it if letters or responses point at it."
)

#: ``--yes``/``-y``: do not ask before removing or merging.
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


def templates_option(help: str, *, show_envvar: bool = False) -> Callable[[F], F]:
    """``--templates DIR`` (also ``OUTREACH_TEMPLATES``): the user's template folder."""
    return click.option(
        "--templates",
        type=click.Path(file_okay=False),
        envvar="OUTREACH_TEMPLATES",
        show_envvar=show_envvar,
        help=help,
    )


def given(values: Mapping[str, Any]) -> dict[str, Any]:
    """The options the user gave: those not ``None``."""
    return {k: v for k, v in values.items() if v is not None}


# --- lists of values ------------------------------------------------------------


def split_values(values: Iterable[str]) -> list[str]:
    """``("a, b", "c;d")`` -> ``["a", "b", "c", "d"]``."""
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in value.replace(";", ",").split(",") if v.strip())
    return out


def edited_tags(
    current: Iterable[str] | None,
    values: Mapping[str, Any],
    add: tuple[str, ...],
    remove: tuple[str, ...],
) -> list[str]:
    """The tags after ``--tags`` (in *values*), ``--add-tag`` and ``--remove-tag``."""
    tags = split_values((values["tags"],)) if "tags" in values else list(current or [])
    tags += [t for t in split_values(add) if t not in tags]
    drop = {t.casefold() for t in split_values(remove)}
    return [t for t in tags if t.casefold() not in drop]


def edited_values(
    current_tags: Iterable[str] | None,
    values: dict[str, Any],
    add_tag: tuple[str, ...],
    remove_tag: tuple[str, ...],
) -> dict[str, Any]:
    """An edit's *values*, with the tags after ``--add-tag``/``--remove-tag``;
    a usage error when nothing is to change."""
    if add_tag or remove_tag:
        values["tags"] = edited_tags(current_tags, values, add_tag, remove_tag)
    if not values:
        raise click.UsageError("nothing to change: give at least one option")
    return values


def report_changes(label: str, changes: dict[str, list[Any]]) -> None:
    """Print ``label: field: before -> after`` for each change an edit made."""
    if not changes:
        echo(f"{label}: nothing changed.")
        return
    for field, (before, after) in changes.items():
        echo(f"{label}: {field}: {to_text(before) or '-'} -> {to_text(after) or '-'}")


# --- directory filters and exports (orgs and contacts) -------------------------------

filter_options = option_group(
    click.option("--region", help="africa, americas, asia-pacific, europe, mena, global."),
    click.option("--kind", help="Kind of organization (or of contact, for contacts)."),
    click.option("--tag", help="Only records with this tag."),
    click.option("--language", help="Only records working in this language (ISO 639-1)."),
    click.option(
        "--search",
        "-s",
        help="Text to look for in names, acronyms, positions and e-mail addresses.",
    ),
    click.option("--archived", is_flag=True, help="Include archived records."),
)
"""``--region --kind --tag --language --search --archived`` for lists and exports."""

_output_file_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)

export_options = option_group(
    db_option,
    click.option(
        "--format",
        "fmt",
        type=click.Choice(["csv", "json", "vcard", "xlsx"]),
        help="File format  [default: from --output's name, else csv]",
    ),
    _output_file_option,
)


def output_file_option(fn: F) -> F:
    """``--output``/``-o FILE`` instead of standard output."""
    return _output_file_option(fn)


def export_format(fmt: str | None, output: Path | None) -> str:
    """The export format: ``--format``, else from ``--output``'s name, else csv."""
    if fmt:
        return fmt
    if output is not None:
        suffix = output.suffix.lower()
        if suffix == ".json":
            return "json"
        if suffix in (".vcf", ".vcard"):
            return "vcard"
        if suffix in (".xlsx", ".xlsm"):
            return "xlsx"
    return "csv"


def write_export(text: str | bytes, output: Path | None, what: str) -> None:
    """*text* (or the bytes of a workbook) to standard output, or to the file
    *output* (saying so on stderr). Bytes go to standard output only when it
    is not a terminal."""
    if output is None:
        if isinstance(text, bytes):
            if sys.stdout.isatty():
                from outreach.errors import ConfigurationError

                raise ConfigurationError(
                    "an XLSX workbook is not for the terminal: give a file to write it to",
                    field="output",
                )
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
            sys.stdout.buffer.flush()
            return
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from outreach.files import write_file

    try:
        write_file(output, text)
    except OSError as exc:
        from outreach.errors import ValidationError

        raise ValidationError(
            f"{output}: cannot write it ({exc.strerror or exc}); choose another file with -o"
        ) from None
    echo(f"Exported {what} to {output}.", err=True)


# --- dates and durations ----------------------------------------------------------

_DAYS = re.compile(r"^\s*(\d+)\s*(d|day|days|w|week|weeks)?\s*$", re.IGNORECASE)


def parse_days(text: str) -> int:
    """``14d``, ``2w`` or ``14`` -> days."""
    m = _DAYS.match(text)
    if not m:
        raise click.BadParameter(f"{text!r}: write a number of days (14d) or weeks (2w)")
    n = int(m[1])
    return n * 7 if (m[2] or "d").lower().startswith("w") else n


_DURATION = re.compile(r"^\s*(\d+)\s*([dwh]?)\s*$", re.IGNORECASE)


class Duration(click.ParamType):
    """``21d``, ``3w``, ``36h`` or a bare number of days."""

    name = "DURATION"

    def convert(self, value: Any, param: Any, ctx: Any) -> dt.timedelta:
        if isinstance(value, dt.timedelta):
            return value
        match = _DURATION.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a duration: write e.g. 21d, 3w or 36h", param, ctx)
        n, unit = int(match.group(1)), (match.group(2) or "d").lower()
        return {"d": dt.timedelta(days=n), "w": dt.timedelta(weeks=n), "h": dt.timedelta(hours=n)}[
            unit
        ]


class Moment(click.ParamType):
    """An ISO date or date-time; taken as UTC when no offset is given."""

    name = "DATE"

    def convert(self, value: Any, param: Any, ctx: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        try:
            moment = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                f"{value!r} is not a date: write e.g. 2012-06-30 or 2012-06-30T12:00", param, ctx
            )
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)
