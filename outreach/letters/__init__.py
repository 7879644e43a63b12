"""Campaign letters: who gets which letter, rendering, generating, previewing
and reviewing them, and who is due a reminder.

- :mod:`~outreach.letters.jobs`: who gets which letter where (recipients,
  reminders, the contact chosen, one current letter per organization and round),
- :mod:`~outreach.letters.renderer`: one letter rendered into a :class:`LetterDoc`,
- :mod:`~outreach.letters.pipeline`: a batch rendered, in a second process when large,
- :mod:`~outreach.letters.generation`: :func:`generate`, in named steps,
- :mod:`~outreach.letters.files`: letters written as files, after the database work,
- :mod:`~outreach.letters.previewing`, :mod:`~outreach.letters.review`
  (list, show, approve, cancel), :mod:`~outreach.letters.followups`,
- :mod:`~outreach.letters.results`: :class:`GenerateResult`, :class:`Skipped`,
- :mod:`~outreach.letters.references`: reference patterns and each letter's number.

The names below are imported when first used (PEP 562): ``letters generate``
loads neither ``sqlalchemy.orm`` nor the ORM classes, which only the review
functions need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outreach.lazy import lazy_exports

_HOMES = {
    "GenerateResult": "results",
    "Skipped": "results",
    "Progress": "results",
    "LetterDoc": "results",
    "FROZEN": "jobs",
    "UNSENT": "jobs",
    "channel_address": "jobs",
    "load_campaign": "jobs",
    "PARALLEL_MIN": "pipeline",
    "PIPE_CHUNK": "pipeline",
    "TemplateInfo": "pipeline",
    "generate": "generation",
    "check_out": "files",
    "write_files": "files",
    "preview": "previewing",
    "list_letters": "review",
    "get_letter": "review",
    "letter_record": "review",
    "letter_doc": "review",
    "approve": "review",
    "cancel": "review",
    "DueFollowup": "followups",
    "due_followups": "followups",
}

__all__ = [
    "FROZEN",
    "PARALLEL_MIN",
    "PIPE_CHUNK",
    "UNSENT",
    "DueFollowup",
    "GenerateResult",
    "LetterDoc",
    "Progress",
    "Skipped",
    "TemplateInfo",
    "approve",
    "cancel",
    "channel_address",
    "check_out",
    "due_followups",
    "generate",
    "get_letter",
    "letter_doc",
    "letter_record",
    "list_letters",
    "load_campaign",
    "preview",
    "write_files",
]

if TYPE_CHECKING:  # pragma: no cover
    from outreach.letters.files import check_out, write_files
    from outreach.letters.followups import DueFollowup, due_followups
    from outreach.letters.generation import generate
    from outreach.letters.jobs import FROZEN, UNSENT, channel_address, load_campaign
    from outreach.letters.pipeline import PARALLEL_MIN, PIPE_CHUNK, TemplateInfo
    from outreach.letters.previewing import preview
    from outreach.letters.results import GenerateResult, LetterDoc, Progress, Skipped
    from outreach.letters.review import (
        approve,
        cancel,
        get_letter,
        letter_doc,
        letter_record,
        list_letters,
    )


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
