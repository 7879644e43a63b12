"""Directory fields: their names, and the parsers that check and normalise one
value each (text, yes/no, lists, tags, web and e-mail addresses, kinds).

A parser raises :class:`FieldError` with a message that says what is wrong and
how to fix it; :mod:`outreach.directory.cleaning` applies them to a record.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from outreach.safetext import needs_folding, new_lines, one_line, text_problem
from outreach.schema.enums import ContactKind, OrgKind

#: Organization fields a user can set, in the order exports write them.
ORG_FIELDS = (
    "acronym",
    "name",
    "kind",
    "region",
    "hq_city",
    "hq_country",
    "languages",
    "website",
    "tags",
    "notes",
)
ORG_REQUIRED = ("acronym", "name")

#: Contact fields a user can set, in the order exports write them.
#: ``organization`` is the organization's acronym.
CONTACT_FIELDS = (
    "organization",
    "kind",
    "name",
    "position",
    "salutation",
    "email",
    "phone",
    "postal_address",
    "language",
    "is_primary",
    "do_not_contact",
    "do_not_contact_reason",
    "tags",
    "notes",
)
CONTACT_REQUIRED = ("organization", "name")

#: Organization fields beyond the base columns: the parent organization (its
#: acronym) and the text per language (:mod:`outreach.directory.i18n`).
ORG_EXTRA_FIELDS = ("parent", "i18n")
#: Contact fields beyond the base columns.
CONTACT_EXTRA_FIELDS = ("honorific", "preferred_channel", "i18n")

LIST_FIELDS = frozenset({"languages", "tags"})
BOOL_FIELDS = frozenset({"is_primary", "do_not_contact"})

_MAX_LEN = {
    "acronym": 40,
    "name": 300,
    "hq_city": 120,
    "website": 300,
    "position": 300,
    "salutation": 300,
    "parent": 40,
    "email": 320,
    "phone": 64,
}

_TRUE = frozenset({"yes", "y", "true", "t", "1", "x", "on"})
_FALSE = frozenset({"no", "n", "false", "f", "0", "off", ""})

_ORG_KIND_ALIASES = {
    "subregional": OrgKind.SUBREGIONAL,
    "unbody": OrgKind.UN_BODY,
    "un": OrgKind.UN_BODY,
    "memberstate": OrgKind.MEMBER_STATE,
    "state": OrgKind.MEMBER_STATE,
    "mission": OrgKind.MEMBER_STATE,
    "civilsociety": OrgKind.CIVIL_SOCIETY,
    "ngo": OrgKind.CIVIL_SOCIETY,
    "cso": OrgKind.CIVIL_SOCIETY,
}
_CONTACT_KIND_ALIASES = {
    "individual": ContactKind.PERSON,
    "people": ContactKind.PERSON,
    "org": ContactKind.OFFICE,
    "organization": ContactKind.OFFICE,
    "group": ContactKind.OFFICE,
}


class FieldError(ValueError):
    """One field's value is wrong; the message says what and how to fix it."""


def fold_key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def parse_text(field: str, value: Any, *, multiline: bool = False) -> str | None:
    if value is None:
        return None
    if value.__class__ is not str:
        if isinstance(value, bool | list | dict):
            raise FieldError(f"expected text, got {type(value).__name__}")
        value = str(value)
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise FieldError(problem)
    value = value.strip()
    if not value:
        return None
    if multiline:
        value = "\n".join(line.rstrip() for line in new_lines(value).split("\n"))
    elif needs_folding(value):
        value = one_line(value)
    limit = _MAX_LEN.get(field)
    if limit and len(value) > limit:
        raise FieldError(f"too long ({len(value)} characters, at most {limit})")
    return value


def _enum_value(enum_cls: Any, aliases: Mapping[str, Any], value: Any) -> Any:
    text = parse_text("kind", value)
    if text is None:
        return None
    for member in enum_cls:
        if fold_key(member.value) == fold_key(text):
            return member
    if fold_key(text) in aliases:
        return aliases[fold_key(text)]
    choices = ", ".join(m.value for m in enum_cls)
    raise FieldError(f"{text!r} is not one of: {choices}")


def parse_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return None if text == "" else False
    raise FieldError(f"{value!r} is not yes or no")


def split_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = re.split(r"[,;|]", value)
    elif isinstance(value, list | tuple):
        items = []
        for item in value:
            if not isinstance(item, str):
                raise FieldError(f"expected a list of text, found {item!r}")
            items.append(item)
    else:
        raise FieldError(f"expected a list, got {type(value).__name__}")
    out: list[str] = []
    for item in items:
        problem = text_problem(item)
        if problem is not None:
            raise FieldError(f"{item.strip()[:20]!r}: {problem}")
        item = " ".join(item.split())
        if item and item not in out:
            out.append(item)
    return out


def parse_tags(value: Any) -> list[str]:
    tags = split_list(value)
    for tag in tags:
        if len(tag) > 60:
            raise FieldError(f"tag {tag[:20]!r}... is too long (at most 60 characters)")
    return tags


_WEBSITE = re.compile(r"^https?://[^\s/]+\.[^\s/]+(/\S*)?$", re.IGNORECASE)


def parse_website(value: Any) -> str | None:
    text = parse_text("website", value)
    if text is None:
        return None
    if "://" not in text:
        text = "https://" + text
    if not _WEBSITE.match(text):
        raise FieldError(f"{text!r} is not a web address (such as https://au.int)")
    return text


# E-mail addresses: the ``email-validator`` package decides (no DNS look-ups).
# Checking 100,000 addresses one by one is slow, so the common case -- a plain
# ASCII local part -- is checked here and each distinct domain is handed to the
# validator once; anything unusual goes through the validator whole.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@functools.lru_cache(maxsize=65536)
def _email_domain(domain: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email("x@" + domain, check_deliverability=False).domain
    except EmailNotValidError as exc:
        raise FieldError(f"{domain!r}: {exc}") from None


def parse_email(value: Any) -> str | None:
    """A syntactically valid e-mail address, with its domain normalised."""
    text = parse_text("email", value)
    if text is None:
        return None
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and len(text) <= 254 and _DOT_ATOM.fullmatch(local):
        try:
            return local + "@" + _email_domain(domain)
        except FieldError:
            pass
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise FieldError(f"{text!r} is not a valid e-mail address: {exc}") from None


def parse_org_kind(value: Any) -> OrgKind | None:
    return _enum_value(OrgKind, _ORG_KIND_ALIASES, value)


def parse_contact_kind(value: Any) -> ContactKind | None:
    return _enum_value(ContactKind, _CONTACT_KIND_ALIASES, value)
