"""What ``letters send`` says when it is done: the human report, the JSON
object of ``--format json``, the notes of ``-v`` and the exit status.

Only click and the standard library are imported here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from outreach.cli.exits import USER_ERROR
from outreach.cli.output import emit
from outreach.cli.verbosity import is_quiet, logger, say


def send_exit_code(report: Any) -> int:
    """OK when nothing went wrong; PARTIAL_SEND when some letters were sent
    and others failed, are in doubt or were cut off by a stop; USER_ERROR
    when something went wrong and nothing was sent (a dry run included)."""
    from outreach.cli.exits import OK, PARTIAL_SEND
    from outreach.sending.report import SENT

    if not (report.failures or report.aborted):
        return OK
    return PARTIAL_SEND if report.count(SENT) else USER_ERROR


def _pending_rows(plans: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "letter": p.letter_id,
            "org": p.acronym,
            "contact": p.contact_name,
            "to": p.to_address,
            "status": p.status,
            "message_id": p.message_id,
            "note": p.note,
        }
        for p in plans
    ]


def report_data(
    report: Any, identity: Any, settings: Any, failures_csv: str | None
) -> dict[str, Any]:
    """What the human report says, as one JSON object."""
    from outreach.sending.report import FAILED, IN_DOUBT, SENT, WOULD_FAIL, WOULD_SEND

    held_back = {
        "in_doubt": report.in_doubt,
        "being_sent": report.being_sent,
        "awaiting_approval": report.awaiting_approval,
        "failed_before": report.failed_before,
        "do_not_contact": report.skipped,
        "answered": report.answered,
        "second_of_round": report.second_of_round,
    }
    return {
        "campaign": report.campaign,
        "dry_run": report.dry_run,
        "from": identity.from_address,
        "bcc": identity.bcc,
        "server": settings.describe() if settings is not None else None,
        "sent": report.count(SENT),
        "failed": report.count(FAILED),
        "in_doubt": report.count(IN_DOUBT),
        "would_send": report.count(WOULD_SEND),
        "would_fail": report.count(WOULD_FAIL),
        "skipped": sum(len(v) for v in held_back.values()),
        "remaining": report.remaining,
        "other_channels": report.other_channels,
        "aborted": report.aborted,
        "interrupted": report.interrupted,
        "elapsed_seconds": round(report.elapsed, 3),
        "failures_csv": failures_csv,
        "letters": [
            {
                "letter": o.letter_id,
                "org": o.acronym,
                "contact": o.contact_name,
                "to": o.to_address,
                "subject": o.subject,
                "status": o.status,
                "message_id": o.message_id,
                "error": o.error,
                "attempts": o.attempts,
                "warnings": list(o.warnings),
            }
            for o in report.outcomes
        ],
        "held_back": {k: _pending_rows(v) for k, v in held_back.items()},
    }


def say_warnings(report: Any) -> None:
    for o in report.outcomes:
        for w in o.warnings:
            logger.warning("letter %s: %s", o.letter_id, w)


def log_outcomes(report: Any) -> None:
    """Each letter's outcome as a note (-v); with -q, each failure as an error
    line (the summary that lists them is not printed)."""
    from outreach.sending.report import FAILED, IN_DOUBT, WOULD_FAIL

    quiet = is_quiet()
    for o in report.outcomes:
        line = f"letter {o.letter_id}  {o.acronym}  {o.to_address or '-'}  [{o.status}]"
        if o.status in (FAILED, IN_DOUBT, WOULD_FAIL):
            (logger.error if quiet else logger.info)("%s  %s", line, o.error)
        else:
            logger.info("%s  %s", line, o.message_id or "")
        logger.debug("letter %s: %d attempt(s), subject %r", o.letter_id, o.attempts, o.subject)
    logger.info("%s: %.1f s, %d connection(s)", report.campaign, report.elapsed, report.connections)


def print_report(report: Any, identity: Any, settings: Any, *, show: bool) -> None:
    from outreach.sending.report import FAILED, IN_DOUBT, SENT, WOULD_FAIL, WOULD_SEND

    # names, subjects and server replies: control characters shown escaped;
    # nothing of it with -q (the failures were logged as errors)
    echo = functools.partial(say, multiline=True)
    if report.dry_run:
        n = report.count(WOULD_SEND)
        echo(
            f"Dry run for campaign {report.campaign}: {n} letter(s) would be sent "
            f"from {identity.from_address}"
            + (f", with a blind copy to {identity.bcc}" if identity.bcc else "")
            + ". Nothing was sent; add --send to send."
        )
        if show:
            from outreach.sending.message import readable

            for o in report.outcomes:
                if o.message is not None:
                    echo(f"\n----- letter {o.letter_id} ({o.acronym}) -----")
                    echo(readable(o.message))
        elif report.outcomes and not is_quiet():
            emit(
                [
                    {
                        "letter": o.letter_id,
                        "org": o.acronym,
                        "to": o.to_address,
                        "subject": o.subject,
                        "status": o.status,
                    }
                    for o in report.outcomes
                ],
                ["letter", "org", "to", "subject", "status"],
                "table",
            )
    else:
        sent = report.count(SENT)
        parts = [f"Sent {sent} letter(s) for campaign {report.campaign}"]
        if settings is not None:
            parts.append(f"via {settings.describe()}")
        echo(" ".join(parts) + f" in {report.elapsed:.1f} s.")
        if report.count(FAILED):
            echo(f"{report.count(FAILED)} letter(s) failed.")
        if report.count(IN_DOUBT):
            echo(f"{report.count(IN_DOUBT)} letter(s) in doubt (may or may not have arrived).")
    failures = [o for o in report.outcomes if o.status in (FAILED, IN_DOUBT, WOULD_FAIL)]
    if failures:
        echo("\nFailures:")
        for o in failures:
            echo(f"  letter {o.letter_id}  {o.acronym}  {o.to_address or '-'}  [{o.status}]")
            echo(f"      {o.error}")
    say_warnings(report)
    if report.aborted:
        echo(f"\nStopped early: {report.aborted}")
    if report.being_sent:
        _list_letters(
            echo,
            f"\n{len(report.being_sent)} letter(s) are being handed to the server right now by "
            "another `letters send` run; this run left them alone (nothing to do):",
            report.being_sent,
            message_id=True,
        )
    if report.in_doubt:
        _list_letters(
            echo,
            f"\n{len(report.in_doubt)} letter(s) may or may not have reached the server (a run "
            "stopped while handing them over, or the server's answer was lost); they were NOT "
            "sent again. Check the archive copy or ask the recipient, then run "
            "`outreach letters confirm ID` if it arrived or `outreach letters resend ID`:",
            report.in_doubt,
            message_id=True,
        )
    if report.awaiting_approval:
        echo(
            f"\n{len(report.awaiting_approval)} letter(s) are drafts awaiting approval (not sent)."
        )
    if report.failed_before:
        echo(
            f"\n{len(report.failed_before)} letter(s) failed in an earlier run and were not "
            "retried (add --retry-failed after fixing them)."
        )
    if report.skipped:
        echo(f"\n{len(report.skipped)} letter(s) skipped: the contact asked not to be contacted.")
    if report.answered:
        _list_letters(
            echo,
            f"\n{len(report.answered)} reminder(s) not sent: the organization has answered "
            "since they were made. Cancel them with `outreach letters cancel`, or send one "
            "anyway with --letter ID:",
            report.answered,
            note=False,
        )
    if report.second_of_round:
        _list_letters(
            echo,
            f"\n{len(report.second_of_round)} letter(s) not sent: another letter of the same "
            "round goes or went to the same organization through another contact:",
            report.second_of_round,
        )
    if report.remaining:
        echo(f"\n{report.remaining} approved letter(s) left for a later run (--limit).")
    if report.other_channels:
        echo(
            f"\n{report.other_channels} approved letter(s) go by post, fax or hand: print them "
            "with `outreach letters write`, then record them with `outreach letters mark-sent`."
        )


def _list_letters(
    echo: Callable[[str], None],
    header: str,
    plans: list[Any],
    *,
    message_id: bool = False,
    note: bool = True,
) -> None:
    """*header*, then a line for each letter held back (with its Message-ID and
    the note saying why, when asked)."""
    echo(header)
    for p in plans:
        line = f"  letter {p.letter_id}  {p.acronym}  {p.to_address or '-'}"
        echo(f"{line}  {p.message_id}" if message_id else line)
        if note:
            echo(f"      {p.note}")
