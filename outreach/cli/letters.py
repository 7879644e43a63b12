"""``outreach letters``: generate, preview and review campaign letters."""

from __future__ import annotations

import time
from typing import Any

import click

from outreach.cli.letter_options import (
    FILE_FORMATS,
    checked_word_template,
    docx_template_option,
    letter_templates_option,
    page_choices,
    page_options,
    split_formats,
)
from outreach.cli.options import Day, Duration, option_group, output_options, renamed
from outreach.cli.output import echo, emit, emit_record
from outreach.cli.progress import progress_bar
from outreach.cli.state import AppState, db_option, pass_state
from outreach.cli.verbosity import logger, say

STATUSES = ("draft", "approved", "sending", "sent", "failed", "cancelled")
CHANNELS = ("email", "post", "fax", "hand", "phone", "other")


@click.group("letters")
def letters_group() -> None:
    """Campaign letters: generate, preview, list, show, approve, cancel."""


_filters = option_group(
    click.option("--campaign", help="Only this campaign."),
    click.option(
        "--status",
        "statuses",
        multiple=True,
        type=click.Choice(STATUSES),
        help="Only letters with this status (repeatable).",
    ),
    click.option(
        "--org",
        "organizations",
        multiple=True,
        help="Only letters to this organization (repeatable).",
    ),
    click.option(
        "--language",
        "languages",
        multiple=True,
        help="Only letters in this language (repeatable).",
    ),
    click.option(
        "--round", "rounds", multiple=True, type=int, help="0 for letters, 1+ for reminders."
    ),
)


@letters_group.command("generate")
@click.option("--campaign", required=True, help="The campaign.")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Also write the letters as files in this folder.",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    metavar="FORMAT",
    help=f"File format(s) with --out: {', '.join(FILE_FORMATS)} "
    "(repeatable or comma-separated; default md); json prints the result as one JSON "
    "object instead of the summary (with or without --out).",
)
@docx_template_option
@click.option(
    "--combined", is_flag=True, help="With --format pdf: one PDF of all the letters, for printing."
)
@click.option(
    "--channel",
    type=click.Choice(CHANNELS),
    help="Only the letters that go by this channel (each letter's channel comes from its "
    "contact); the others are left as they are.",
)
@click.option(
    "--org",
    "organizations",
    multiple=True,
    metavar="ACRONYM",
    help="Only the letters to this organization (repeatable).",
)
@click.option(
    "--followup",
    is_flag=True,
    help="Reminders for recipients who have not answered (the campaign's follow-up template).",
)
@click.option(
    "--after",
    type=Duration(whole_days=True),
    default="14d",
    show_default=True,
    help="With --followup: silence before a reminder is due (14d, 3w).",
)
@click.option(
    "--date",
    "letter_date",
    type=Day(),
    help="The letters' date, as templates and checks see it (default today).",
)
@page_options
@letter_templates_option
@db_option
@pass_state
def generate_cmd(
    state: AppState,
    campaign: str,
    out: str | None,
    formats: tuple[str, ...],
    docx_template: str | None,
    combined: bool,
    channel: str | None,
    organizations: tuple[str, ...],
    followup: bool,
    after: str,
    templates: str | None,
    letter_date: str | None,
    paper: str | None = None,
    window_envelope: bool | None = None,
    duplex: bool | None = None,
) -> None:
    """Render every recipient's letter and record it (idempotent).

    With --format json the result (counts, each letter, the recipients
    skipped and why, the files written) is one JSON object on standard output.
    """

    from outreach.letters.files import check_out, write_files
    from outreach.letters.generation import generate

    formats, as_json = _result_format(formats)
    fmt_list = split_formats(formats)
    if formats and out is None:
        raise click.UsageError("--format needs --out DIR")
    out_dir = check_out(out, fmt_list, combined) if out is not None else None
    word = checked_word_template(docx_template, fmt_list if out is not None else [])
    started = time.monotonic()
    logger.info(
        "%s: generating %s%s", campaign, "reminders" if followup else "letters",
        f" (channel {channel})" if channel else "",
    )  # fmt: skip
    with progress_bar("Rendering") as progress, state.write() as conn:
        result = generate(
            conn,
            campaign=campaign,
            channel=channel,
            organizations=organizations,
            templates=templates,
            followup=followup,
            after=after,
            progress=progress,
            date=letter_date,
        )
    logger.info(
        "%s: %d letter(s) rendered and recorded in %.1f s",
        result.campaign, len(result.letters), time.monotonic() - started,
    )  # fmt: skip
    for doc in result.letters:
        logger.debug(
            "letter %s  %s (%s)  %s  version %s  %s",
            doc.id, doc.acronym, doc.contact, doc.language, doc.version, doc.reference or "-",
        )  # fmt: skip
    if out_dir is not None:
        logger.info("writing %s to %s", ", ".join(fmt_list), out_dir)
        # after the commit: making PDF and DOCX files holds no lock
        result.files = write_files(
            result.letters,
            out_dir,
            formats=fmt_list,
            combined=combined,
            name=result.campaign,
            page=page_choices(paper, window_envelope, duplex),
            docx_template=word,
        )
    if as_json:
        emit_record(_generate_data(result, followup=followup, channel=channel), "json")
        return
    kind = "reminders" if followup else "letters"
    say(
        f"{result.campaign}: {result.created} new {kind}, {result.new_versions} new versions, "
        f"{result.unchanged} unchanged, {result.frozen} sent or cancelled (left alone), "
        f"{len(result.skipped)} skipped"
        + (f", {result.other_channel} by another channel (left alone)" if channel else "")
    )
    for s in result.skipped:
        who = f" ({s.contact})" if s.contact else ""
        say(f"  skipped {s.acronym}{who}: {s.reason}")
    for note in result.superseded:
        say(f"  {note}")
    _say_checks(result)
    if result.files:
        say(f"Wrote {len(result.files)} files to {out}")


def _result_format(formats: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """``--format``'s file formats, and whether ``json`` (the result as JSON) was asked."""
    parts = [p.strip() for value in formats for p in value.split(",") if p.strip()]
    files = tuple(p for p in parts if p.lower() != "json")
    return files, len(files) < len(parts)


def _generate_data(result: Any, *, followup: bool, channel: str | None) -> dict[str, Any]:
    """What the generate summary says, as one JSON object."""
    return {
        "campaign": result.campaign,
        "kind": "reminders" if followup else "letters",
        "created": result.created,
        "new_versions": result.new_versions,
        "unchanged": result.unchanged,
        "frozen": result.frozen,
        "frozen_letters": list(result.frozen_list),
        "other_channel": result.other_channel if channel else None,
        "skipped": [
            {"org": s.acronym, "contact": s.contact, "reason": s.reason} for s in result.skipped
        ],
        "superseded": list(result.superseded),
        "checks": {
            "errors": result.check_errors,
            "warnings": result.check_warnings,
            "notes": list(result.check_notes),
        },
        "letters": [
            {
                "letter": d.id,
                "org": d.acronym,
                "contact": d.contact,
                "language": d.language,
                "channel": d.channel,
                "round": d.round,
                "version": d.version,
                "reference": d.reference,
                "message_id": d.message_id,
                "subject": d.subject,
            }
            for d in result.letters
        ],
        "files": [str(f) for f in result.files],
    }


def _say_checks(result: Any) -> None:
    """The generate summary's line on what the letters' checks found."""
    if not (result.check_errors or result.check_warnings):
        return
    say(
        f"Checks: {result.check_errors} errors, {result.check_warnings} warnings "
        f"(`outreach letters check --campaign {result.campaign}`)"
    )
    for note in result.check_notes[:20]:
        say(f"  {note}")
    if len(result.check_notes) > 20:
        say(f"  ... and {len(result.check_notes) - 20} more")


@letters_group.command("check")
@click.option("--campaign", required=True, help="The campaign.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@db_option
@pass_state
def check_cmd(state: AppState, campaign: str, fmt: str) -> None:
    """Check a campaign's unsent letters again: language, script, empty values, dates."""
    from outreach.letters.checks import check_campaign_named

    with state.read() as conn:
        slug, results = check_campaign_named(conn, campaign)
    flagged = [r for r in results if r.findings]
    errors = sum(1 for r in flagged for f in r.findings if f["severity"] == "error")
    warnings = sum(1 for r in flagged for f in r.findings if f["severity"] != "error")
    if fmt == "json":
        from outreach.cli.output import json_text, to_json_value

        click.echo(
            json_text(
                to_json_value(
                    {
                        "campaign": slug,
                        "letters": len(results),
                        "errors": errors,
                        "warnings": warnings,
                        "findings": [
                            {
                                "letter_id": r.letter_id,
                                "organization": r.acronym,
                                "contact": r.contact,
                                "language": r.language,
                                "status": r.status,
                                "override": r.override,
                                "findings": r.findings,
                            }
                            for r in flagged
                        ],
                    }
                )
            )
        )
        return
    if not flagged:
        echo(f"{slug}: {len(results)} letters checked, no problems")
        return
    for r in flagged:
        overridden = f"  [overridden: {r.override}]" if r.override else ""
        echo(f"letter {r.letter_id}  {r.acronym} ({r.contact})  {r.language}{overridden}")
        for f in r.findings:
            echo(f"  {f['severity']}  {f['code']}: {f['message']}")
    echo(
        f"{slug}: {len(results)} letters checked, {len(flagged)} with problems: "
        f"{errors} errors, {warnings} warnings"
    )


@letters_group.command("preview")
@click.option("--campaign", required=True, help="The campaign.")
@click.option("--org", "organization", required=True, help="The recipient organization (acronym).")
@click.option("--language", help="Render in this language instead of the recipient's.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "txt", "html", "eml", "pdf", "docx"]),
    default="md",
    show_default=True,
    help="pdf and docx need --out.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Write the letter to FILE instead of printing it (still nothing is recorded).",
)
@docx_template_option
@click.option("--followup", is_flag=True, help="Preview the reminder instead.")
@click.option("--channel", type=click.Choice(CHANNELS), default="email", show_default=True)
@page_options
@letter_templates_option
@db_option
@pass_state
def preview_cmd(
    state: AppState,
    campaign: str,
    organization: str,
    language: str | None,
    fmt: str,
    out: str | None,
    docx_template: str | None,
    followup: bool,
    channel: str,
    templates: str | None,
    paper: str | None = None,
    window_envelope: bool | None = None,
    duplex: bool | None = None,
) -> None:
    """Print one rendered letter, or write it to --out; nothing is recorded."""
    from outreach.files import write_file
    from outreach.letters.files import letter_bytes
    from outreach.letters.previewing import preview

    if fmt in ("pdf", "docx") and out is None:
        raise click.UsageError(f"a {fmt} preview is a file: give --out FILE")
    word = checked_word_template(docx_template, [fmt])
    with state.read() as conn:
        doc, warning = preview(
            conn,
            campaign=campaign,
            organization=organization,
            language=language,
            templates=templates,
            followup=followup,
            channel=channel,
        )
    if warning:
        echo(f"Note: {warning}", err=True)
    echo(f"Subject: {doc.subject}   [{doc.language}, {doc.template_name}]", err=True)
    echo(f"Reference: {doc.reference}   (the one it gets if generated now)", err=True)
    data = letter_bytes(doc, fmt, page_choices(paper, window_envelope, None), docx_template=word)
    if out is not None:
        echo(f"Wrote {write_file(out, data)} (a preview: nothing was recorded)", err=True)
        return
    echo(data.decode("utf-8"), multiline=True, nl=False)


@letters_group.command("list")
@_filters
@click.option(
    "--superseded", "include_superseded", is_flag=True, help="Include superseded versions."
)
@renamed("--all", to="include_superseded", new="--superseded", is_flag=True)
@output_options
@db_option
@pass_state
def list_cmd(state: AppState, fmt: str, **filters: Any) -> None:
    """List letters (current versions unless --all)."""
    from outreach.letters.review import list_letters

    with state.session() as session:
        rows = list_letters(session, **filters)
    emit(
        rows,
        [
            "id",
            "campaign",
            "org",
            "contact",
            "round",
            "version",
            "reference",
            "language",
            "status",
            "superseded",
        ],
        fmt,
    )


@letters_group.command("show")
@click.argument("letter_id", type=int)
@click.option("--body/--no-body", default=True, help="Print the letter's text too.")
@output_options
@db_option
@pass_state
def show_cmd(state: AppState, letter_id: int, body: bool, fmt: str) -> None:
    """Show one letter: its details and its text."""
    from outreach.letters.review import get_letter, letter_record

    with state.session() as session:
        letter = get_letter(session, letter_id)
        record = letter_record(letter)
        text = letter.body
    if fmt == "json" and body:
        record["body"] = text
    emit_record(record, fmt)
    if body and fmt == "table":
        click.echo("")
        echo(text, multiline=True, nl=False)


@letters_group.command("write")
@click.argument("letter_ids", type=int, nargs=-1, required=True)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder to write to.")
@click.option(
    "--format",
    "formats",
    multiple=True,
    metavar="FORMAT",
    help=f"{', '.join(FILE_FORMATS)} (default md).",
)
@click.option(
    "--combined", is_flag=True, help="With --format pdf: one PDF of the letters, for printing."
)
@page_options
@docx_template_option
@db_option
@pass_state
def write_cmd(
    state: AppState,
    letter_ids: tuple[int, ...],
    out: str,
    formats: tuple[str, ...],
    combined: bool = False,
    paper: str | None = None,
    window_envelope: bool | None = None,
    duplex: bool | None = None,
    docx_template: str | None = None,
) -> None:
    """Write stored letters to files (as they were recorded; nothing is re-rendered)."""
    from outreach.letters.files import check_out, write_files
    from outreach.letters.review import get_letter, letter_doc

    fmt_list = split_formats(formats)
    check_out(out, fmt_list, combined)
    word = checked_word_template(docx_template, fmt_list)
    with state.session() as session:
        docs = [letter_doc(get_letter(session, i)) for i in letter_ids]
    # the session has ended: the files are made holding no lock
    files = write_files(
        docs,
        out,
        formats=fmt_list,
        combined=combined,
        name=docs[0].campaign if docs else "letters",
        page=page_choices(paper, window_envelope, duplex),
        docx_template=word,
    )
    echo(f"Wrote {len(files)} files to {out}")


def _change_cmd(name: str, verb: str, help_text: str):  # type: ignore[no-untyped-def]
    @letters_group.command(name, help=help_text)
    @click.argument("letter_ids", type=int, nargs=-1)
    @_filters
    @click.option(
        "--all",
        "all_matching",
        is_flag=True,
        help="Every letter matching --campaign and the filters.",
    )
    @db_option
    @pass_state
    def command(
        state: AppState, letter_ids: tuple[int, ...], all_matching: bool, **filters: Any
    ) -> None:
        from outreach.letters import review as service

        if not letter_ids and not (all_matching and filters.get("campaign")):
            raise click.UsageError("give letter ids, or --campaign C --all (with filters)")
        fn = getattr(service, name)
        with state.session(immediate=True) as session:
            changed = fn(session, ids=letter_ids, **(filters if not letter_ids else {}))
        click.echo(f"{verb} {len(changed)} letters")

    return command


@letters_group.command("approve")
@click.argument("letter_ids", type=int, nargs=-1)
@_filters
@click.option(
    "--all", "all_matching", is_flag=True, help="Every letter matching --campaign and the filters."
)
@click.option(
    "--override",
    "overrides",
    multiple=True,
    type=int,
    metavar="ID",
    help="Approve letter ID despite its check errors (repeatable; needs --reason).",
)
@click.option("--reason", help="Why the overridden letters may go as they are (kept and logged).")
@db_option
@pass_state
def approve_cmd(
    state: AppState,
    letter_ids: tuple[int, ...],
    all_matching: bool,
    overrides: tuple[int, ...],
    reason: str | None,
    **filters: Any,
) -> None:
    """Approve draft letters so they can be sent (not stale ones, nor ones with check errors)."""
    from outreach.letters.review import approve

    if not letter_ids and not (all_matching and filters.get("campaign")):
        raise click.UsageError("give letter ids, or --campaign C --all (with filters)")
    if overrides and not (reason or "").strip():
        raise click.UsageError("--override needs --reason TEXT")
    if reason and not overrides:
        raise click.UsageError("--reason goes with --override ID")
    with state.session(immediate=True) as session:
        changed = approve(
            session,
            ids=letter_ids,
            overrides={i: reason or "" for i in overrides},
            **(filters if not letter_ids else {}),
        )
    click.echo(f"Approved {len(changed)} letters")


cancel_cmd = _change_cmd(
    "cancel", "Cancelled", "Cancel unsent letters (generation leaves them alone)."
)


@letters_group.command("set-channel")
@click.argument("letter_id", type=int)
@click.argument("channel", type=click.Choice(CHANNELS))
@db_option
@pass_state
def set_channel_cmd(state: AppState, letter_id: int, channel: str) -> None:
    """Send an unsent letter by another CHANNEL: makes a new version (a draft)."""
    from outreach.sending.manual import set_channel

    with state.session(immediate=True) as session:
        change = set_channel(session, letter_id, channel)
    echo(change.summary)


from outreach.cli import sending as _sending  # noqa: E402

for _command in _sending.COMMANDS:
    letters_group.add_command(_command)

from outreach.cli.sent_copies import copy_to_sent_cmd  # noqa: E402  (a command of its own module)

letters_group.add_command(copy_to_sent_cmd)
