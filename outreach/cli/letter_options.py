"""Options the letters commands share: the file formats (``--format``), the
letters' date (``--date``), how letters are printed (``--paper``,
``--window-envelope``, ``--duplex``) and a Word letterhead (``--docx-template``)."""

from __future__ import annotations

from typing import Any

import click

from outreach.cli.options import templates_option

FILE_FORMATS = ("md", "txt", "html", "pdf", "docx", "eml")  # outreach.letters.files.FORMATS


def split_formats(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip().lower()
            if part == "markdown":
                part = "md"
            if part == "text":
                part = "txt"
            if part not in FILE_FORMATS:
                raise click.BadParameter(
                    f"{part!r}: use {', '.join(FILE_FORMATS)}", param_hint="--format"
                )
            if part not in out:
                out.append(part)
    return out or ["md"]


docx_template_option = click.option(
    "--docx-template",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="With --format docx: put the letters into this letterhead designed in Word "
    "(a .docx with docxtpl tags such as {{p body }}; see letters/README.md).",
)


def checked_word_template(path: str | None, formats: list[str]) -> Any:
    """The checked Word letterhead of --docx-template (before any work), or None."""
    if path is None:
        return None
    if "docx" not in formats:
        raise click.UsageError("--docx-template needs --format docx")
    from outreach.letters.files import word_template

    return word_template(path)


def page_options(f):  # type: ignore[no-untyped-def]
    """--paper, --window-envelope and --duplex: one run's page choices over the
    campaign's (its letter_paper, letter_window_envelope, letter_duplex variables)."""
    f = click.option(
        "--duplex/--no-duplex",
        default=None,
        help="With --combined: each letter starts on a front side (a blank back "
        "after a letter of an odd number of pages), for two-sided printing.",
    )(f)
    f = click.option(
        "--window-envelope/--no-window-envelope",
        default=None,
        help="Print the address where a window envelope shows it (DIN 5008 on A4, "
        "a No. 10 envelope on US Letter).",
    )(f)
    return click.option(
        "--paper",
        type=click.Choice(["a4", "letter"], case_sensitive=False),
        help="Paper for PDF and DOCX: a4 or letter (US Letter); default the campaign's "
        "letter_paper variable, else the letters.paper setting, else a4.",
    )(f)


def page_choices(
    paper: str | None, window_envelope: bool | None, duplex: bool | None
) -> dict[str, Any]:
    return {"paper": paper, "window_envelope": window_envelope, "duplex": duplex}


letter_templates_option = templates_option(
    "Your template folder, searched before the shipped letters/.", show_envvar=True
)
