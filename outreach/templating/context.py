"""What a template is given: the reserved names, the sender's keys and
:class:`Record`, the data handed to templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Names the context reserves; campaign variables may not reuse them.
RESERVED = frozenset(
    {"organization", "contact", "campaign", "dialogue", "sender", "today", "language", "vars"}
)
#: Sender keys every template may use (missing ones are empty).
SENDER_KEYS = (
    "name",
    "organization",
    "email",
    "address",
    "phone",
    "website",
    "signatory",
    "signatory_title",
)


class Record(dict):  # type: ignore[type-arg]
    """The data handed to templates (organization, contact, sender, ...).

    ``organization.name`` reads the key directly: the sandbox never has to
    try, and refuse, a Python attribute first. Keys hold data only, so this
    opens nothing; anything that is not a key goes through the sandbox's
    checks as usual.
    """

    __slots__ = ()


def sender_context(sender: Mapping[str, Any] | None, signatory: str | None) -> Record:
    out = Record.fromkeys(SENDER_KEYS)
    out.update(sender or {})
    if signatory and not out.get("signatory"):
        out["signatory"] = signatory
    return out
