"""Sending commands attached to the ``letters`` group: send, confirm, resend, mark-sent.

``COMMANDS`` lists the click commands that ``outreach.cli.letters`` adds to its
group, so they run as ``outreach letters send --campaign C``. Only click and
the standard library are imported here; the library is imported inside the
commands.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from outreach.cli.exits import USER_ERROR
from outreach.cli.options import Day, format_option, output_options
from outreach.cli.output import echo as safe_echo
from outreach.cli.output import emit, emit_record, safe
from outreach.cli.progress import progress_bar
from outreach.cli.send_report import (
    log_outcomes,
    print_report,
    report_data,
    say_warnings,
    send_exit_code,
)
from outreach.cli.state import AppState, db_option, pass_state, wrap_errors
from outreach.cli.verbosity import logger

_SMTP_SECURITY = ("ssl", "starttls", "none")


def _org_ids(session: Any, acronyms: tuple[str, ...]) -> list[int]:
    from outreach.sending.manual import organization_ids

    return organization_ids(session, acronyms)


def _campaign_id(session: Any, slug: str | None) -> int | None:
    if slug is None:
        return None
    from outreach.sending.batch import campaign_by_slug

    return campaign_by_slug(session, slug).id


@click.command("send")
@click.option("--campaign", "campaign_slug", required=True, metavar="SLUG", help="The campaign.")
@click.option(
    "--send",
    "really",
    is_flag=True,
    help="Really send. Without it, a dry run shows what would be sent and changes nothing.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Send at most N letters this run.")
@click.option(
    "--rate",
    metavar="RATE",
    help='At most so many messages per period, e.g. "30/min" or "50 per 5 min".  '
    "[default: unlimited]",
)
@click.option(
    "--letter",
    "letter_ids",
    type=int,
    multiple=True,
    metavar="ID",
    help="Only this letter (repeatable).",
)
@click.option(
    "--retry-failed", is_flag=True, help="Also send letters that failed in an earlier run."
)
@click.option(
    "--show",
    is_flag=True,
    help="Dry run: print every message as it reads: headers, the cover note, the attachments.",
)
@click.option(
    "--html",
    is_flag=True,
    help="Letters sent without a cover note only: add an HTML version (right to left for "
    "Arabic). The cover note always has one.",
)
@click.option(
    "--failures-csv",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the failures of this run to FILE as CSV.",
)
@click.option(
    "--smtp-host",
    envvar="OUTREACH_SMTP_HOST",
    show_envvar=True,
    metavar="HOST",
    help="The SMTP server.  [default: localhost]",
)
@click.option(
    "--smtp-port",
    type=click.IntRange(1, 65535),
    envvar="OUTREACH_SMTP_PORT",
    show_envvar=True,
    help="[default: 465 for ssl, 587 for starttls, 25 for none]",
)
@click.option(
    "--smtp-security",
    type=click.Choice(_SMTP_SECURITY),
    envvar="OUTREACH_SMTP_SECURITY",
    show_envvar=True,
    help="ssl (port 465), starttls (587) or none (trusted networks only).  [default: starttls]",
)
@click.option(
    "--smtp-user",
    envvar="OUTREACH_SMTP_USER",
    show_envvar=True,
    metavar="USER",
    help="Log in as USER; the password comes from OUTREACH_SMTP_PASSWORD or a prompt.",
)
@click.option(
    "--smtp-timeout",
    type=click.FloatRange(min=0, min_open=True),
    envvar="OUTREACH_SMTP_TIMEOUT",
    show_envvar=True,
    metavar="SECONDS",
    help="How long to wait for the SMTP server at each step; a message the server "
    "has not answered in that time is left in doubt, never sent again.  [default: 30]",
)
@click.option(
    "--from",
    "from_address",
    envvar="OUTREACH_MAIL_FROM",
    show_envvar=True,
    metavar="ADDRESS",
    help="From address.  [default: the campaign's sender]",
)
@click.option("--from-name", metavar="NAME", help="Name shown with the From address.")
@click.option(
    "--reply-to",
    envvar="OUTREACH_MAIL_REPLY_TO",
    show_envvar=True,
    metavar="ADDRESS",
    help="Where replies should go, if not the From address.",
)
@click.option(
    "--bcc",
    envvar="OUTREACH_MAIL_BCC",
    show_envvar=True,
    metavar="ADDRESS",
    help="The secretariat's archive address: gets a blind copy of every letter.",
)
@click.option("--retry-delay", type=float, default=1.0, hidden=True)
@format_option(("table", "json"))
@db_option
@pass_state
@wrap_errors
def send_cmd(
    state: AppState,
    campaign_slug: str,
    really: bool,
    limit: int | None,
    rate: str | None,
    letter_ids: tuple[int, ...],
    retry_failed: bool,
    show: bool,
    html: bool,
    failures_csv: str | None,
    smtp_host: str | None,
    smtp_port: int | None,
    smtp_security: str | None,
    smtp_user: str | None,
    smtp_timeout: float | None,
    from_address: str | None,
    from_name: str | None,
    reply_to: str | None,
    bcc: str | None,
    retry_delay: float,
    fmt: str = "table",
) -> None:
    """Send a campaign's approved e-mail letters, each at most once.

    A dry run by default: shows what would be sent and changes nothing. Add
    --send to hand the messages to the SMTP server. A letter left half-way
    by an earlier run (the process died while the server was taking it) is
    not sent again: it is listed, and `letters confirm` or `letters resend`
    settles it. Sending the campaign again sends only what has not gone.

    With --format json the result is one JSON object on standard output
    (counts, and each letter with its status and Message-ID). Exit status 3
    when some letters were sent and others failed or are in doubt.
    """
    from outreach.sending.batch import Sender, campaign_by_slug
    from outreach.sending.settings import (
        ENV_SMTP_PASSWORD,
        MailIdentity,
        RetryPolicy,
        SmtpSettings,
        parse_rate,
    )
    from outreach.sending.transport import SmtpTransport

    if show and fmt == "json":
        raise click.UsageError("--show prints the messages; it does not go with --format json")
    parsed_rate = parse_rate(rate)
    if failures_csv:
        # Found out now, not after the letters have gone.
        from outreach.errors import ValidationError

        folder = os.path.dirname(os.path.abspath(failures_csv))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise ValidationError(
                f"--failures-csv {failures_csv}: cannot write in {folder}; "
                "give a file in a folder that exists"
            )
    db = state.database()
    with db.session() as session:
        campaign = campaign_by_slug(session, campaign_slug)
        identity = MailIdentity.for_campaign(
            campaign,
            from_address=from_address,
            from_name=from_name,
            reply_to=reply_to,
            bcc=bcc,
        )
    transport = None
    settings = None
    if really:
        password = os.environ.get(ENV_SMTP_PASSWORD) or None
        settings = SmtpSettings.from_env(
            host=smtp_host,
            port=smtp_port,
            security=smtp_security,
            user=smtp_user,
            password=password,
            timeout=smtp_timeout,
        )
        if settings.security == "none" and settings.user:
            # Once per run, before any prompt: the login is not encrypted.
            logger.warning(
                "--smtp-security none: the password for %s goes to %s:%s in clear text; use "
                "starttls or ssl unless the network to the server is trusted.",
                settings.user, settings.host, settings.effective_port,
            )  # fmt: skip
        if settings.user and not settings.password and not settings.oauth_token_command:
            from dataclasses import replace

            settings = replace(
                settings,
                password=click.prompt(
                    f"SMTP password for {safe(settings.user)}", hide_input=True, err=True
                ),
            )
        transport = SmtpTransport(settings)

    sender = Sender(
        db,
        identity,
        transport=transport,
        dry_run=not really,
        rate=parsed_rate,
        retry=RetryPolicy(base_delay=retry_delay),
        html=html,
    )
    options = {"limit": limit, "retry_failed": retry_failed, "letter_ids": letter_ids}
    if really:
        logger.info("%s: sending through %s", campaign_slug, settings.describe())
    else:
        logger.info("%s: dry run (nothing is sent)", campaign_slug)
    with progress_bar("Sending") as progress:
        if really:
            sender.progress = progress
        report = sender.send_campaign(campaign_slug, **options)
    log_outcomes(report)

    if fmt == "json":
        say_warnings(report)
        emit_record(report_data(report, identity, settings, failures_csv), "json")
    else:
        print_report(report, identity, settings, show=show)
    if failures_csv:
        try:
            n = report.write_failures_csv(failures_csv)
        except OSError as exc:
            # The letters have gone: say so plainly, the report above stands.
            safe_echo(f"Error: cannot write {failures_csv}: {exc.strerror or exc}", err=True)
            sys.exit(USER_ERROR)
        safe_echo(f"Wrote {n} failure(s) to {failures_csv}.", err=True)
    if report.interrupted is not None:
        from outreach.db.locks import INTERRUPTED_EXIT
        from outreach.sending.report import SENT

        safe_echo(
            f"Stopped by Ctrl-C: {report.count(SENT)} letter(s) sent and recorded; "
            f"{report.interrupted} not sent, left for the next `letters send` (one caught "
            "while being handed over is in doubt: `letters confirm` or `letters resend` it).",
            err=True,
        )
        sys.exit(INTERRUPTED_EXIT)
    sys.exit(send_exit_code(report))


def _in_doubt_command(name: str) -> Callable[[Callable[..., None]], click.Command]:
    """`letters confirm` and `letters resend` take the same arguments: the
    letters by id, or every letter in doubt in a campaign."""

    def decorate(f: Callable[..., None]) -> click.Command:
        for decorator in (
            wrap_errors,
            pass_state,
            db_option,
            output_options,
            click.option(
                "--campaign", "campaign_slug", metavar="SLUG", help="Every letter in doubt in it."
            ),
            click.argument("letter_ids", type=int, nargs=-1, metavar="[LETTER_ID]..."),
        ):
            f = decorator(f)
        return click.command(name)(f)

    return decorate


@_in_doubt_command("confirm")
def confirm_cmd(
    state: AppState, letter_ids: tuple[int, ...], campaign_slug: str | None, fmt: str
) -> None:
    """Confirm that letters left in doubt (status `sending`) did arrive: mark them sent.

    A letter another `letters send` is handing to the server right now is
    left alone (with --campaign) or refused (by id): that run records it.
    """
    from outreach.sending.ledger import confirm_letters

    _settle_in_doubt(
        state,
        confirm_letters,
        letter_ids,
        campaign_slug,
        fmt,
        lambda n: f"Confirmed {n} letter(s) as sent.",
    )


@_in_doubt_command("resend")
def resend_cmd(
    state: AppState, letter_ids: tuple[int, ...], campaign_slug: str | None, fmt: str
) -> None:
    """Put letters in doubt (or failed) back to approved with a new Message-ID.

    The next `letters send --send` sends them again. A letter another
    `letters send` is handing to the server right now is left alone (with
    --campaign) or refused (by id): sent again, it could arrive twice.
    """
    from outreach.sending.ledger import resend_letters

    _settle_in_doubt(
        state,
        resend_letters,
        letter_ids,
        campaign_slug,
        fmt,
        lambda n: f"{n} letter(s) back to approved; `letters send --send` sends them.",
    )


def _settle_in_doubt(
    state: AppState,
    settle: Callable[..., list[Any]],
    letter_ids: tuple[int, ...],
    campaign_slug: str | None,
    fmt: str,
    message: Callable[[int], str],
) -> None:
    """Run *settle* (confirm_letters or resend_letters) on the letters named,
    show those it changed (*message* given their count), then those it left alone."""
    skipped: list[Any] = []
    with state.session(immediate=True) as session:
        letters = settle(
            session,
            letter_ids=letter_ids,
            campaign_id=_campaign_id(session, campaign_slug),
            skipped=skipped,
        )
        rows = [_letter_row(letter) for letter in letters]
        skipped_ids = [letter.id for letter in skipped]
    _emit_letters(rows, fmt, message(len(rows)))
    _say_skipped(skipped_ids)


def _say_skipped(letter_ids: list[int]) -> None:
    """Letters left alone because another run is sending them (on stderr, so
    that csv and json output stay data)."""
    if letter_ids:
        click.echo(
            f"Skipped {len(letter_ids)} letter(s) another run is sending right now "
            f"(letter {', '.join(map(str, letter_ids))}): that run records whether the "
            "server took them.",
            err=True,
        )


@click.command("mark-sent")
@click.argument("letter_ids", type=int, nargs=-1, metavar="[LETTER_ID]...")
@click.option("--campaign", "campaign_slug", metavar="SLUG", help="Letters of this campaign.")
@click.option("--org", "acronyms", multiple=True, metavar="ACRONYM", help="Only this organization.")
@click.option(
    "--channel",
    type=click.Choice(["post", "fax", "hand"]),
    required=True,
    help="How the letters were delivered.",
)
@click.option(
    "--on",
    "on",
    type=Day(),
    help="The day they went out.  [default: today]",
)
@click.option(
    "--change-channel",
    is_flag=True,
    help="Letters named that were made for another channel (e-mail) really went this way.",
)
@output_options
@db_option
@pass_state
@wrap_errors
def mark_sent_cmd(
    state: AppState,
    letter_ids: tuple[int, ...],
    campaign_slug: str | None,
    acronyms: tuple[str, ...],
    channel: str,
    on: Any,
    change_channel: bool,
    fmt: str,
) -> None:
    """Record letters delivered by post, fax or by hand as sent."""
    from outreach.errors import ValidationError
    from outreach.sending.manual import mark_sent

    if acronyms and campaign_slug is None and not letter_ids:
        raise ValidationError("--org needs --campaign (or give letter ids)")
    changed: list[str] = []
    with state.session(immediate=True) as session:
        letters = mark_sent(
            session,
            channel=channel,
            on=on,
            letter_ids=letter_ids,
            campaign_id=_campaign_id(session, campaign_slug),
            organization_ids=_org_ids(session, acronyms),
            change_channel=change_channel,
            on_change=lambda letter, old: changed.append(f"letter {letter.id} ({old.value})"),
        )
        rows = [_letter_row(letter) for letter in letters]
    message = f"Marked {len(rows)} letter(s) as sent by {channel}."
    if changed:
        message += f" Made for another channel, now recorded as {channel}: {', '.join(changed)}."
    _emit_letters(rows, fmt, message)


def _letter_row(letter: Any) -> dict[str, Any]:
    return {
        "letter": letter.id,
        "org": letter.organization.acronym,
        "status": letter.status,
        "channel": letter.channel,
        "sent_at": letter.sent_at,
        "message_id": letter.message_id,
    }


def _emit_letters(rows: list[dict[str, Any]], fmt: str, message: str) -> None:
    if fmt == "table":
        click.echo(message)
        if rows:
            emit(rows, ["letter", "org", "status", "channel", "sent_at", "message_id"], fmt)
    else:
        emit(rows, ["letter", "org", "status", "channel", "sent_at", "message_id"], fmt)


COMMANDS: list[click.Command] = [send_cmd, confirm_cmd, resend_cmd, mark_sent_cmd]
