"""Responses: what came back from the organizations written to.

- :mod:`.records`: looking a response up, logging one by hand, editing,
  listing and showing them.
- :mod:`.mailbox`: reading messages out of mailboxes and files, and their
  headers, bodies and attachments (no database).
- :mod:`.matching`: which organization and letter a message answers; whether
  it is an automatic reply; the obvious stance.
- :mod:`.inbox`: importing mailboxes, and the queue of unmatched messages
  (assign, ignore).
- :mod:`.imap`: fetching a folder over IMAP (what was read is remembered).
- :mod:`.duplicates`: one reply, one response (hand-logged and imported).
- :mod:`.queue`: reading a queued message; assigning it with a new contact.
"""

from __future__ import annotations

from outreach.responses.inbox import (
    ImportedMessage,
    ImportReport,
    assign_message,
    find_inbound,
    ignore_message,
    import_messages,
    unmatched_messages,
)
from outreach.responses.mailbox import RawMessage, read_message, read_messages
from outreach.responses.matching import Match, Matcher
from outreach.responses.records import (
    EDITABLE,
    ResponseRow,
    edit_response,
    get_response,
    list_responses,
    log_response,
    response_record,
)

__all__ = [
    "EDITABLE",
    "ImportReport",
    "ImportedMessage",
    "Match",
    "Matcher",
    "RawMessage",
    "ResponseRow",
    "assign_message",
    "edit_response",
    "find_inbound",
    "get_response",
    "ignore_message",
    "import_messages",
    "list_responses",
    "log_response",
    "read_message",
    "read_messages",
    "response_record",
    "unmatched_messages",
]
