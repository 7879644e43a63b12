"""``outreach followups``: who to chase in a campaign."""

from __future__ import annotations

import datetime as dt

import click

from outreach.cli.options import Duration, output_options
from outreach.cli.output import echo, emit
from outreach.cli.state import AppState, db_option, pass_state


@click.command("followups")
@click.option("--campaign", "campaign_slug", required=True, metavar="SLUG")
@click.option(
    "--after",
    type=Duration(whole_days=True),
    default="14d",
    show_default=True,
    help="Only recipients whose latest letter is at least this old (14d, 3w).",
)
@output_options
@db_option
@pass_state
def followups_cmd(state: AppState, campaign_slug: str, after: dt.timedelta, fmt: str) -> None:
    """List recipients whose letter went out and who have not answered, oldest first.

    `outreach letters generate --campaign C --followup` makes reminders for them.
    """
    from outreach.letters.followups import bounced_letters, due_followups

    with state.read() as conn:
        due = due_followups(conn, campaign=campaign_slug, after=after)
        bounced = bounced_letters(conn, campaign=campaign_slug)
    rows = [
        {
            "org": d.acronym,
            "organization": d.organization_name,
            "contact": d.contact_name,
            "sent": d.sent_at.date(),
            "days_waiting": d.days_waiting,
            "reminders": d.followups_sent,
            "last_sent": d.last_sent_at.date(),
            "letter": d.original_letter_id,
            "latest_letter": d.latest_letter_id,
        }
        for d in due
    ]
    emit(
        rows,
        ["org", "contact", "sent", "days_waiting", "reminders", "last_sent", "letter"],
        fmt,
    )
    if fmt == "table" and rows:
        click.echo(
            f"{len(rows)} recipient(s) to follow up (no answer after {after.days} days).", err=True
        )
    if fmt == "table" and bounced:
        # not chased: the letter never arrived; correct the address, then resend
        echo(f"{len(bounced)} letter(s) bounced, not chased:", err=True)
        for b in bounced:
            state_of = (
                "address corrected: `outreach letters resend " + str(b.letter_id) + "`"
                if b.address_corrected
                else "correct the address with `outreach contacts edit`"
            )
            echo(  # the reason is the remote server's words: neutralised
                f"  {b.acronym} ({b.contact_name}), letter {b.letter_id} to {b.to_address}: "
                f"{b.reason or 'undeliverable'}; {state_of}",
                err=True,
            )
