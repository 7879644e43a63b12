"""What a template is given: the reserved names, the sender's keys and
:class:`Record`, the data handed to templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Names the context reserves; campaign variables may not reuse them.
RESERVED = frozenset(
    {
        "organization",
        "contact",
        "campaign",
        "dialogue",
        "sender",
        "today",
        "language",
        "vars",
        "reference",
    }
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
    # the city the letter is written from ("New York", "Nueva York")
    "place",
)


class Record(dict):  # type: ignore[type-arg]
    """The data handed to templates (organization, contact, sender, ...).

    ``organization.name`` reads the key directly: the sandbox never has to
    try, and refuse, a Python attribute first. Keys hold data only, so this
    opens nothing; anything that is not a key goes through the sandbox's
    checks as usual.
    """

    __slots__ = ()


class Localized(Record):
    """A :class:`Record` in one language whose keys may have come from
    another: reading such a key (``organization.name`` with no French name)
    notes it in the sink the renderer set up for the letter, so the check can
    say which fields of *this* letter fell back, and to what language."""

    __slots__ = ("_fallbacks", "_label")

    def __init__(
        self, values: Mapping[str, Any], *, label: str, fallbacks: Mapping[str, str]
    ) -> None:
        super().__init__(values)
        self._label = label
        #: key -> the language its value is in
        self._fallbacks = dict(fallbacks)

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        if key in self._fallbacks and value not in (None, ""):
            sink = FALLBACK_SINK[0]
            if sink is not None:
                sink.add((f"{self._label}.{key}", self._fallbacks[key]))
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 (through __getitem__: noted)

    def __reduce__(self) -> Any:  # pickled to and from the renderer process
        return (_rebuild_localized, (dict(self), self._label, self._fallbacks))


def _rebuild_localized(values: dict[str, Any], label: str, fallbacks: dict[str, str]) -> Localized:
    return Localized(values, label=label, fallbacks=fallbacks)


#: Where :class:`Localized` records note the fallbacks read while one letter
#: renders (a one-item list holding a set, or None when nobody listens).
FALLBACK_SINK: list[set[tuple[str, str]] | None] = [None]


def localize(
    base: Mapping[str, Any],
    texts: Mapping[str, Any] | None,
    language: str,
    base_language: str,
    keys: tuple[str, ...],
) -> tuple[dict[str, Any], dict[str, str]]:
    """*base* with *keys* in *language*: its entry in *texts* (``{"fr":
    {"name": ...}}``), else the base value, which is in *base_language*.
    Returns (values, fallbacks: key -> the language a value is really in)."""
    values = dict(base)
    fallbacks: dict[str, str] = {}
    own = (texts or {}).get(language) or {}
    for key in keys:
        text = own.get(key) if isinstance(own, Mapping) else None
        if text:
            values[key] = text
        elif language != base_language and values.get(key):
            fallbacks[key] = base_language
    return values, fallbacks


def sender_context(sender: Mapping[str, Any] | None, signatory: str | None) -> Record:
    out = Record.fromkeys(SENDER_KEYS)
    out.update(sender or {})
    if signatory and not out.get("signatory"):
        out["signatory"] = signatory
    return out
