"""Options and parsers that several command groups share.

Only click and the standard library are imported here, so every command
module can use them without slowing ``outreach --help``. The spellings and
help texts are the ones the commands have always had (the README's command
reference is generated from them).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from outreach.cli.output import echo, to_text
from outreach.cli.state import db_option
from outreach.cli.when import Day, Duration, Moment

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "FORMATS",
    "Day",
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
    "org_argument",
    "output_file_option",
    "output_options",
    "renamed",
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


#: The old spellings kept working: hidden parameter name -> (old, new spelling).
RENAMED: dict[str, tuple[str, str]] = {}


def renamed(
    *old: str,
    to: str,
    new: str,
    convert: Callable[[Any], Any] | None = None,
    **attrs: Any,
) -> Callable[[F], F]:
    """Keep the spellings *old* of the option now called *new* (its
    parameter *to*) working, hidden from ``--help``, with a note on stderr
    saying what to write instead. *attrs* are the old option's own (a flag,
    a type); *convert* turns its value into the new option's. Giving both
    spellings is a usage error."""
    key = "_renamed_{}_as_{}".format(*(n.lstrip("-").replace("-", "_") for n in (old[0], new)))
    RENAMED.setdefault(key, (old[0], new))

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(key)
            ctx = click.get_current_context()
            source = ctx.get_parameter_source(key)
            if source in (
                click.core.ParameterSource.COMMANDLINE,
                click.core.ParameterSource.ENVIRONMENT,
            ):
                current = ctx.get_parameter_source(to)
                if current in (
                    click.core.ParameterSource.COMMANDLINE,
                    click.core.ParameterSource.ENVIRONMENT,
                ):
                    raise click.UsageError(
                        f"{old[0]} is the old spelling of {new}: give only {new}"
                    )
                echo(
                    f"note: {old[0]} is now {new}; the old spelling still works "
                    "but will go in a later release",
                    err=True,
                )
                kwargs[to] = convert(value) if convert else value
            return fn(*args, **kwargs)

        return click.option(*old, key, hidden=True, **attrs)(wrapper)  # type: ignore[return-value]

    return decorator


def org_argument(name: str = "acronym", *, before: str | None = None) -> Callable[[F], F]:
    """The organization a command is about, as its first argument or as
    ``--org`` (both spellings accepted; the function gets it as *name*).

    *before* names a required argument that follows it (``contacts add
    [ORGANIZATION] NAME``): the arguments are then read as one list, since an
    optional argument cannot come before a required one."""
    metavar = name.upper()

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            by_option = kwargs.pop("_org_option")
            if before is not None:
                words = list(kwargs.pop("_org_words"))
                wanted = 1 if by_option is not None else 2
                if len(words) > wanted:
                    extra = " ".join(repr(w) for w in words[wanted:])
                    raise click.UsageError(
                        f"unexpected {extra}: give {metavar} {before.upper()}, "
                        f"or --org {metavar} and {before.upper()} alone"
                    )
                if len(words) < wanted:
                    raise click.UsageError(
                        f"missing {before.upper()}: give {metavar} {before.upper()}"
                        f" (or --org {metavar} {before.upper()})"
                    )
                kwargs[before] = words[-1]
                positional = words[0] if wanted == 2 else None
            else:
                positional = kwargs.pop(name)
            if positional is not None and by_option is not None and positional != by_option:
                raise click.UsageError(
                    f"two organizations given ({positional} and --org {by_option}): give one"
                )
            value = positional if positional is not None else by_option
            if value is None:
                raise click.UsageError(f"give the organization: {metavar} or --org {metavar}")
            kwargs[name] = value
            return fn(*args, **kwargs)

        option = click.option(
            "--org",
            "_org_option",
            metavar="ACRONYM",
            help=f"The organization (its acronym), if not given as {metavar}.",
        )
        if before is not None:
            argument = click.argument(
                "_org_words", nargs=-1, metavar=f"[{metavar}] {before.upper()}"
            )
        else:
            argument = click.argument(name, required=False, metavar=f"[{metavar}]")
        return argument(option(wrapper))  # type: ignore[return-value]

    return decorator


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
    """The tags after ``--tag`` (in *values*: the whole list), ``--add-tag``
    and ``--remove-tag``."""
    tags = split_values(values["tags"]) if "tags" in values else list(current or [])
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
    a usage error when nothing is to change. ``--tag`` gives the whole list
    (``--tag ""`` clears it); not given, it is an empty tuple."""
    if values.get("tags") == ():
        del values["tags"]
    if "tags" in values and not isinstance(values["tags"], str):
        values["tags"] = split_values(values["tags"])
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
    click.option(
        "--tag", multiple=True, help="Only records with this tag (repeat: with any of them)."
    ),
    click.option("--language", help="Only records working in this language (ISO 639-1)."),
    click.option(
        "--search",
        "-s",
        help="Text to look for in names, acronyms, positions and e-mail addresses.",
    ),
    click.option("--archived", is_flag=True, help="Include archived records."),
)
"""``--region --kind --tag --language --search --archived`` for lists and exports."""

_output_file_option = option_group(
    click.option(
        "--out",
        "-o",
        "output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write to this file instead of standard output.",
    ),
    renamed("--output", to="output", new="--out", type=click.Path(dir_okay=False, path_type=Path)),
)

export_options = option_group(
    db_option,
    click.option(
        "--format",
        "fmt",
        type=click.Choice(["csv", "json", "vcard", "xlsx"]),
        help="File format  [default: from --out's name, else csv]",
    ),
    _output_file_option,
)


def output_file_option(fn: F) -> F:
    """``--out``/``-o FILE`` instead of standard output."""
    return _output_file_option(fn)


def export_format(fmt: str | None, output: Path | None) -> str:
    """The export format: ``--format``, else from ``--out``'s name, else csv."""
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
                    field="out",
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
            f"{output}: cannot write it ({exc.strerror or exc}); choose another file with --out"
        ) from None
    echo(f"Exported {what} to {output}.", err=True)
