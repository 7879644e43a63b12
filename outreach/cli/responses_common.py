"""What the ``responses`` commands share: the attachment store, dates typed
by the user, and how a response and imported messages are printed."""

from __future__ import annotations

from typing import Any

import click

from outreach.cli.output import emit_record, safe
from outreach.cli.state import AppState


def _store(state: AppState) -> Any:
    from outreach.attachments import AttachmentStore

    return AttachmentStore.for_database(state.database())


def _show(record: dict[str, Any], fmt: str) -> None:
    if fmt == "table":
        attachments = record.pop("attachments")
        emit_record(record, fmt)
        for a in attachments:
            click.echo(
                f"attachment   {safe(a['filename'])} ({safe(a['content_type'])}, "
                f"{a['size']} bytes)" + (f"\n             {safe(a['path'])}" if a["path"] else "")
            )
    else:
        emit_record(record, fmt)


MESSAGE_COLUMNS = ["msg", "status", "org", "response", "from", "subject", "reason"]


def _message_rows(messages: Any) -> list[dict[str, Any]]:
    """The rows `import` and `fetch` print for the messages they read."""
    keys = {"msg": "inbound_id", "org": "acronym", "response": "response_id"}
    keys |= {"from": "from_address", "status": "status", "subject": "subject"}
    return [
        {c: getattr(m, keys.get(c, c)) for c in MESSAGE_COLUMNS} for m in messages
    ]


def messages_result(report: Any, **extra: Any) -> dict[str, Any]:
    """What `import` and `fetch` say of the messages read, as one JSON object:
    the counts of the summary line, then each message (*extra* first: the
    account and folder of a fetch)."""
    from collections import Counter

    counts = Counter(m.status for m in report.messages)
    return {
        **extra,
        "read": report.read,
        "matched": counts.get("matched", 0),
        "unmatched": counts.get("unmatched", 0),
        "ignored": counts.get("ignored", 0),
        "bounces": counts.get("bounce", 0),
        "auto_replies": counts.get("auto-reply", 0),
        "already_imported": report.duplicates,
        "messages": [
            {**row, "message_id": m.message_id, "letter": m.letter_id}
            for row, m in zip(_message_rows(report.messages), report.messages, strict=True)
        ],
    }


#: The secretariat's own addresses, for `import` and `fetch`: mail from them is not a response.
own_option = click.option(
    "--own",
    "own_addresses",
    multiple=True,
    metavar="ADDRESS",
    help="An address of the secretariat (besides the campaigns' senders): its mail is "
    "not a response.",
)
