"""``outreach report``: campaign status, a dialogue across its campaigns, an
organization's history."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from outreach.cli.options import Duration, Moment, format_option, option_group
from outreach.cli.output import echo
from outreach.cli.state import AppState, db_option, pass_state

REPORT_FORMATS = ("table", "csv", "json", "md", "html")

_out_option = click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to FILE instead of the screen.",
)
_as_of_option = click.option(
    "--as-of",
    "as_of",
    type=Moment(),
    help="Compute days waiting and overdue as of this moment instead of now.",
)
_overdue_option = click.option(
    "--overdue-after",
    type=Duration(),
    default="21d",
    show_default=True,
    help="A sent letter with no answer for longer than this is overdue.",
)


#: Kept here so that ``--help`` does not import the reports
#: (``outreach.reports.i18n.LANGUAGES``; tests/reports check they agree).
REPORT_LANGUAGES = ("en", "fr", "es", "ar", "ru", "zh", "pt")

_language_option = click.option(
    "--language",
    "language",
    default="en",
    show_default=True,
    metavar="LANG",
    help=(
        "Write the report in this language: "
        + ", ".join(REPORT_LANGUAGES)
        + ". Tables, md and html are translated; csv and json keep English keys and"
        " values. Organizations are named in the language where the directory has"
        " it. English unless asked, whatever the campaign's language."
    ),
)

#: ``--format``, ``--out`` and ``--language``, for every report.
_output_options = option_group(format_option(REPORT_FORMATS), _out_option, _language_option)
#: ``--overdue-after`` and ``--as-of``, for the reports that count days waiting.
_timing_options = option_group(_overdue_option, _as_of_option)


def _use_colour() -> bool:
    # click.echo strips the codes when the output is not a terminal.
    return not os.environ.get("NO_COLOR")


def _check_destination(fmt: str, out: Path | None) -> None:
    if fmt == "html" and out is None and sys.stdout.isatty():
        raise click.UsageError("an HTML report goes to a file: add --out report.html")


def _run_report(
    state: AppState,
    fmt: str,
    out: Path | None,
    language: str,
    build: Callable[[Any, str], Any],
    render: Callable[..., str],
    what: Callable[[Any], str],
) -> None:
    """The report *build* makes on a read-only connection, rendered in *fmt*
    (in colour on the screen, unless NO_COLOR), shown or written to *out*;
    *what* names it in the note that says so; *language* is checked first,
    and *build* gets it with the connection."""
    from outreach.reports.i18n import check_language

    language = check_language(language)
    _check_destination(fmt, out)
    with state.database().read() as conn:
        report = build(conn, language)
    text = render(report, fmt, color=out is None and _use_colour(), language=language)
    if out is None:
        # Stored text in a table, md, json or html report is shown safely
        # already (see outreach.reports.text); click strips only the table's
        # own colours off a pipe. CSV is the exact data, "ESC [ ..." too.
        click.echo(text, nl=False, color=True if fmt == "csv" else None)
        return
    from outreach.reports.output import write_text_atomic

    write_text_atomic(out, text)
    echo(f"Wrote {what(report)} to {out}", err=True)


@click.group("report")
def report_group() -> None:
    """Status reports: a campaign, a dialogue across its campaigns, an
    organization's history."""


@report_group.command("status")
@click.option("--campaign", "campaign", required=True, metavar="SLUG", help="The campaign.")
@_output_options
@_timing_options
@db_option
@pass_state
def status_cmd(
    state: AppState,
    campaign: str,
    fmt: str,
    out: Path | None,
    language: str,
    overdue_after: dt.timedelta,
    as_of: dt.datetime | None,
) -> None:
    """Who was written to, who answered, who is overdue: one campaign.

    The table fits 80 columns (days marked ! are overdue); csv, json and md
    carry every column; html is a self-contained page with charts, for
    e-mailing or printing (use --out report.html).
    """
    from outreach.reports import render_status
    from outreach.reports.status import status_report

    _run_report(
        state,
        fmt,
        out,
        language,
        lambda conn, language: status_report(
            conn,
            campaign=campaign,
            overdue_after=overdue_after,
            now=as_of,
            timeline=fmt == "html",
            language=language,
        ),
        render_status,
        lambda report: f"the status of {report.campaign.slug}",
    )


@report_group.command("dialogue")
@click.option("--dialogue", "dialogue", required=True, metavar="SLUG", help="The dialogue.")
@_output_options
@_timing_options
@db_option
@pass_state
def dialogue_cmd(
    state: AppState,
    dialogue: str,
    fmt: str,
    out: Path | None,
    language: str,
    overdue_after: dt.timedelta,
    as_of: dt.datetime | None,
) -> None:
    """A dialogue across all its campaigns, with its outcome (who spoke).

    Organizations are counted once however many campaigns wrote to them; csv
    lists the organizations.
    """
    from outreach.reports import render_dialogue
    from outreach.reports.dialogue import dialogue_report

    _run_report(
        state,
        fmt,
        out,
        language,
        lambda conn, language: dialogue_report(
            conn, dialogue=dialogue, overdue_after=overdue_after, now=as_of, language=language
        ),
        render_dialogue,
        lambda report: f"the report on {report.dialogue.slug}",
    )


@report_group.command("history")
@click.option("--org", "org", required=True, metavar="ACRONYM", help="The organization.")
@_output_options
@db_option
@pass_state
def history_cmd(state: AppState, org: str, fmt: str, out: Path | None, language: str) -> None:
    """One organization across the years: which campaigns wrote to it, when,
    and whether and how it answered."""
    from outreach.reports import render_history
    from outreach.reports.history import history_report

    _run_report(
        state,
        fmt,
        out,
        language,
        lambda conn, language: history_report(conn, org=org, language=language),
        render_history,
        lambda report: f"the history of {report.acronym}",
    )
