"""The directory: organizations and the contacts letters are addressed to.

Service functions take ``session`` as a keyword argument, ``flush()`` when
they need ids and never commit: the caller owns the transaction. Every change
records an :class:`~outreach.models.Activity` row (edits with ``[before,
after]`` for each field).

    with db.session() as session:
        au = add_organization(session=session, acronym="AU", name="African Union",
                              kind="regional", region="africa", languages="en,fr,ar,pt")
        add_contact(session=session, organization=au, kind="office",
                    name="Office of the Chairperson of the Commission")

Field values are checked and normalised by :func:`clean_organization` and
:func:`clean_contact`, which the importer uses too, so a value accepted on the
command line is accepted in a file and stored the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, selectinload

from outreach.activity import record_activity
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.models import (
    Activity,
    Campaign,
    CampaignRecipient,
    Contact,
    ContactKind,
    InboundMessage,
    Letter,
    Organization,
    OrgKind,
    Region,
    Response,
)
from outreach.safetext import needs_folding, new_lines, one_line, text_problem
from outreach.types import json_value, utcnow

# --- fields -------------------------------------------------------------------

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

LIST_FIELDS = frozenset({"languages", "tags"})
BOOL_FIELDS = frozenset({"is_primary", "do_not_contact"})

#: Name given to a contact whose personal data was erased.
FORGOTTEN_NAME = "Forgotten contact"

_MAX_LEN = {
    "acronym": 40,
    "name": 300,
    "hq_city": 120,
    "website": 300,
    "position": 300,
    "salutation": 300,
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


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _text(field: str, value: Any, *, multiline: bool = False) -> str | None:
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
    text = _text("kind", value)
    if text is None:
        return None
    for member in enum_cls:
        if _key(member.value) == _key(text):
            return member
    if _key(text) in aliases:
        return aliases[_key(text)]
    choices = ", ".join(m.value for m in enum_cls)
    raise FieldError(f"{text!r} is not one of: {choices}")


def parse_region(value: Any) -> Region | None:
    text = _text("region", value)
    if text is None:
        return None
    for member in Region:
        if _key(text) in (_key(member.value), _key(member.label)):
            return member
    if _key(text) in ("middleeast", "middleeastandnorthafrica", "menaregion"):
        return Region.MENA
    if _key(text) in ("asia", "pacific", "asiaandthepacific"):
        return Region.ASIA_PACIFIC
    choices = ", ".join(m.value for m in Region)
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


def _split_list(value: Any) -> list[str]:
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
    tags = _split_list(value)
    for tag in tags:
        if len(tag) > 60:
            raise FieldError(f"tag {tag[:20]!r}... is too long (at most 60 characters)")
    return tags


@functools.cache
def _language_table() -> dict[str, str]:
    import pycountry

    table: dict[str, str] = {}
    for lang in pycountry.languages:
        code = getattr(lang, "alpha_2", None)
        if not code:
            continue
        table[code] = code
        table.setdefault(lang.name.casefold(), code)
        for attr in ("alpha_3", "bibliographic"):
            other = getattr(lang, attr, None)
            if other:
                table.setdefault(other.casefold(), code)
    return table


#: The ISO 639-1 codes, so that checking a plain code needs no look-up in
#: pycountry's 8,000 languages (``tests/test_directory.py`` checks it against
#: pycountry). Names and three-letter codes go through pycountry.
ISO_639_1 = frozenset(
    [
        "aa",
        "ab",
        "ae",
        "af",
        "ak",
        "am",
        "an",
        "ar",
        "as",
        "av",
        "ay",
        "az",
        "ba",
        "be",
        "bg",
        "bi",
        "bm",
        "bn",
        "bo",
        "br",
        "bs",
        "ca",
        "ce",
        "ch",
        "co",
        "cr",
        "cs",
        "cu",
        "cv",
        "cy",
        "da",
        "de",
        "dv",
        "dz",
        "ee",
        "el",
        "en",
        "eo",
        "es",
        "et",
        "eu",
        "fa",
        "ff",
        "fi",
        "fj",
        "fo",
        "fr",
        "fy",
        "ga",
        "gd",
        "gl",
        "gn",
        "gu",
        "gv",
        "ha",
        "he",
        "hi",
        "ho",
        "hr",
        "ht",
        "hu",
        "hy",
        "hz",
        "ia",
        "id",
        "ie",
        "ig",
        "ii",
        "ik",
        "io",
        "is",
        "it",
        "iu",
        "ja",
        "jv",
        "ka",
        "kg",
        "ki",
        "kj",
        "kk",
        "kl",
        "km",
        "kn",
        "ko",
        "kr",
        "ks",
        "ku",
        "kv",
        "kw",
        "ky",
        "la",
        "lb",
        "lg",
        "li",
        "ln",
        "lo",
        "lt",
        "lu",
        "lv",
        "mg",
        "mh",
        "mi",
        "mk",
        "ml",
        "mn",
        "mr",
        "ms",
        "mt",
        "my",
        "na",
        "nb",
        "nd",
        "ne",
        "ng",
        "nl",
        "nn",
        "no",
        "nr",
        "nv",
        "ny",
        "oc",
        "oj",
        "om",
        "or",
        "os",
        "pa",
        "pi",
        "pl",
        "ps",
        "pt",
        "qu",
        "rm",
        "rn",
        "ro",
        "ru",
        "rw",
        "sa",
        "sc",
        "sd",
        "se",
        "sg",
        "sh",
        "si",
        "sk",
        "sl",
        "sm",
        "sn",
        "so",
        "sq",
        "sr",
        "ss",
        "st",
        "su",
        "sv",
        "sw",
        "ta",
        "te",
        "tg",
        "th",
        "ti",
        "tk",
        "tl",
        "tn",
        "to",
        "tr",
        "ts",
        "tt",
        "tw",
        "ty",
        "ug",
        "uk",
        "ur",
        "uz",
        "ve",
        "vi",
        "vo",
        "wa",
        "wo",
        "xh",
        "yi",
        "yo",
        "za",
        "zh",
        "zu",
    ]
)


def parse_language(value: Any) -> str | None:
    """An ISO 639-1 code: ``fr``, ``FR``, ``fra`` and ``French`` all give ``fr``."""
    text = _text("language", value)
    if text is None:
        return None
    if len(text) == 2 and text.lower() in ISO_639_1:
        return text.lower()
    code = _language_table().get(text.casefold())
    if code is None:
        raise FieldError(f"{text!r} is not an ISO 639-1 language code (such as en, fr, ar)")
    return code


def parse_languages(value: Any) -> list[str]:
    out: list[str] = []
    for item in _split_list(value):
        code = parse_language(item)
        if code and code not in out:
            out.append(code)
    return out


@functools.cache
def _country_table() -> dict[str, str]:
    import pycountry

    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            other = getattr(country, attr, None)
            if other:
                table.setdefault(other.casefold(), code)
    return table


def parse_country(value: Any) -> str | None:
    """An ISO 3166-1 alpha-2 code from a code (``ET``, ``ETH``) or an English name."""
    text = _text("hq_country", value)
    if text is None:
        return None
    code = _country_table().get(text.casefold())
    if code is None:
        raise FieldError(f"{text!r} is not a country name or ISO 3166 code (such as ET, ETH)")
    return code


_WEBSITE = re.compile(r"^https?://[^\s/]+\.[^\s/]+(/\S*)?$", re.IGNORECASE)


def parse_website(value: Any) -> str | None:
    text = _text("website", value)
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
    text = _text("email", value)
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


def _org_kind(value: Any) -> OrgKind | None:
    return _enum_value(OrgKind, _ORG_KIND_ALIASES, value)


def _contact_kind(value: Any) -> ContactKind | None:
    return _enum_value(ContactKind, _CONTACT_KIND_ALIASES, value)


_ORG_PARSERS = {
    "acronym": partial(_text, "acronym"),
    "name": partial(_text, "name"),
    "kind": _org_kind,
    "region": parse_region,
    "hq_city": partial(_text, "hq_city"),
    "hq_country": parse_country,
    "languages": parse_languages,
    "website": parse_website,
    "tags": parse_tags,
    "notes": partial(_text, "notes", multiline=True),
}

_CONTACT_PARSERS = {
    "organization": partial(_text, "organization"),
    "kind": _contact_kind,
    "name": partial(_text, "name"),
    "position": partial(_text, "position"),
    "salutation": partial(_text, "salutation"),
    "email": parse_email,
    "phone": partial(_text, "phone"),
    "postal_address": partial(_text, "postal_address", multiline=True),
    "language": parse_language,
    "is_primary": parse_bool,
    "do_not_contact": parse_bool,
    "do_not_contact_reason": partial(_text, "do_not_contact_reason", multiline=True),
    "tags": parse_tags,
    "notes": partial(_text, "notes", multiline=True),
}


#: Fields whose values repeat from row to row in a big file: worth memoising.
_REPEATING = frozenset(
    {
        "organization",
        "kind",
        "region",
        "position",
        "salutation",
        "language",
        "languages",
        "hq_city",
        "hq_country",
        "is_primary",
        "do_not_contact",
        "do_not_contact_reason",
        "tags",
    }
)


def _clean(
    parsers: Mapping[str, Any],
    raw: Mapping[str, Any],
    cache: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for field, value in raw.items():
        parser = parsers.get(field)
        if parser is None:
            problems.append((field, "unknown field"))
            continue
        try:
            if cache is not None and field in _REPEATING and value.__class__ is str:
                memo = cache.get(field)
                if memo is None:
                    memo = cache[field] = {}
                hit = memo.get(value, _MISSING)
                if hit is _MISSING:
                    hit = memo[value] = parser(value)
                values[field] = hit
            else:
                values[field] = parser(value)
        except FieldError as exc:
            problems.append((field, str(exc)))
    return values, problems


_MISSING = object()


def clean_organization(
    raw: Mapping[str, Any], cache: dict[str, dict[str, Any]] | None = None
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Normalise organization fields: ``(values, [(field, problem), ...])``.

    Empty values come back as ``None`` (lists as ``[]``). *cache* (a dict the
    caller keeps) memoises values that repeat, for big imports; treat the
    values returned as read-only when you pass it.
    """
    return _clean(_ORG_PARSERS, raw, cache)


def clean_contact(
    raw: Mapping[str, Any], cache: dict[str, dict[str, Any]] | None = None
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Normalise contact fields: ``(values, [(field, problem), ...])``."""
    return _clean(_CONTACT_PARSERS, raw, cache)


def _checked(
    cleaner: Any, raw: Mapping[str, Any], what: str, required: Sequence[str] = ()
) -> dict[str, Any]:
    values, problems = cleaner(raw)
    bad = {field for field, _msg in problems}
    for field in required:
        if field not in bad and not values.get(field):
            problems.append((field, "is required"))
    if problems:
        lines = [f"{field}: {msg}" for field, msg in problems]
        raise ValidationError(f"{what}: {len(lines)} problem(s), nothing changed", lines)
    return values


# --- organizations --------------------------------------------------------------


def _org_by_key(session: Session, acronym: str) -> Organization | None:
    return session.scalar(
        sa.select(Organization).where(Organization.acronym_key == acronym.strip().casefold())
    )


def find_organization(session: Session, ref: str | int) -> Organization | None:
    """The organization with this acronym (any case), id or exact full name."""
    if isinstance(ref, int):
        return session.get(Organization, ref)
    text = str(ref).strip()
    org = _org_by_key(session, text)
    if org is not None:
        return org
    if text.isdigit():
        org = session.get(Organization, int(text))
        if org is not None:
            return org
    matches = [
        o
        for o in session.scalars(
            sa.select(Organization).where(sa.func.lower(Organization.name) == text.lower())
        )
    ]
    if not matches:
        # lower() is ASCII-only on SQLite: compare folded names in Python.
        folded = text.casefold()
        matches = [
            o for o in session.scalars(sa.select(Organization)) if o.name.casefold() == folded
        ]
    return matches[0] if len(matches) == 1 else None


def get_organization(session: Session, ref: str | int) -> Organization:
    """Like :func:`find_organization` but raises :class:`NotFoundError`."""
    org = find_organization(session, ref)
    if org is None:
        raise NotFoundError(
            f"no organization {ref!r}: check the acronym with `outreach orgs list --search ...`"
        )
    return org


def org_record(org: Organization) -> dict[str, Any]:
    """The organization's fields as plain values (what exports write)."""
    return {
        "acronym": org.acronym,
        "name": org.name,
        "kind": org.kind.value if org.kind else None,
        "region": org.region.value if org.region else None,
        "hq_city": org.hq_city,
        "hq_country": org.hq_country,
        "languages": list(org.languages or []),
        "website": org.website,
        "tags": list(org.tags or []),
        "notes": org.notes,
    }


def _apply(obj: Any, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for field, new in values.items():
        old = getattr(obj, field)
        if isinstance(new, list):
            old = list(old or [])
        if old != new:
            changes[field] = [json_value(old), json_value(new)]
            setattr(obj, field, new)
    return changes


def add_organization(*, session: Session, **fields: Any) -> Organization:
    """Create an organization; :class:`ConflictError` if its acronym or name exists."""
    values = _checked(clean_organization, fields, "organization", ORG_REQUIRED)
    existing = _org_by_key(session, values["acronym"])
    if existing is not None:
        raise ConflictError(
            f"organization {existing.acronym} already exists: use `outreach orgs edit "
            f"{existing.acronym}` to change it"
        )
    same_name = find_organization(session, values["name"])
    if same_name is not None:
        raise ConflictError(
            f"organization {same_name.acronym} already has the name {values['name']!r}"
        )
    values.setdefault("kind", None)
    values["kind"] = values["kind"] or OrgKind.OTHER
    org = Organization(**{k: v for k, v in values.items() if v is not None})
    session.add(org)
    session.flush()
    record_activity(
        session,
        action="create",
        entity="organization",
        entity_id=org.id,
        organization_id=org.id,
        summary=f"added organization {org.acronym} ({org.name})",
    )
    return org


def update_organization(
    org: Organization, *, session: Session, **fields: Any
) -> dict[str, list[Any]]:
    """Change fields of *org*; returns ``{field: [before, after]}`` (empty if nothing changed).

    ``None`` or ``""`` clears an optional field.
    """
    values = _checked(clean_organization, fields, f"organization {org.acronym}")
    for field in ORG_REQUIRED:
        if field in values and not values[field]:
            raise ValidationError(
                f"organization {org.acronym}: {field} cannot be empty", [f"{field}: is required"]
            )
    if "kind" in values and values["kind"] is None:
        values["kind"] = OrgKind.OTHER
    if "acronym" in values and values["acronym"].casefold() != org.acronym_key:
        other = _org_by_key(session, values["acronym"])
        if other is not None:
            raise ConflictError(
                f"organization {other.acronym} already exists: merge them with "
                f"`outreach orgs merge {other.acronym} {org.acronym}`"
            )
    if "name" in values:
        other = find_organization(session, values["name"])
        if other is not None and other.id != org.id:
            raise ConflictError(f"organization {other.acronym} already has that name")
    changes = _apply(org, values)
    if changes:
        session.flush()
        record_activity(
            session,
            action="update",
            entity="organization",
            entity_id=org.id,
            organization_id=org.id,
            summary=f"edited organization {org.acronym}: {', '.join(changes)}",
            changes=changes,
        )
    return changes


def _matches(haystack: Iterable[str | None], needle: str) -> bool:
    return any(needle in h.casefold() for h in haystack if h)


def list_organizations(
    *,
    session: Session,
    region: str | Region | None = None,
    kind: str | OrgKind | None = None,
    tag: str | None = None,
    language: str | None = None,
    search: str | None = None,
    archived: bool = False,
    load_contacts: bool = False,
) -> list[Organization]:
    """Organizations matching every filter given, by acronym.

    *search* looks in the acronym and name of the organization and in the
    name, position and e-mail of its contacts; archived ones appear only if
    *archived*. *load_contacts* loads each one's contacts in the same go.
    """
    stmt = sa.select(Organization)
    if load_contacts:
        stmt = stmt.options(selectinload(Organization.contacts))
    if region:
        stmt = stmt.where(Organization.region == _must(parse_region, region, "region"))
    if kind:
        stmt = stmt.where(Organization.kind == _must(_org_kind, kind, "kind"))
    if not archived:
        stmt = stmt.where(Organization.archived_at.is_(None))
    lang = _must(parse_language, language, "language") if language else None
    tag_key = tag.strip().casefold() if tag else None
    needle = search.strip().casefold() if search else None
    via_contacts: set[int] = set()
    if needle:
        rows = session.execute(
            sa.select(Contact.organization_id, Contact.name, Contact.position, Contact.email).where(
                Contact.forgotten_at.is_(None)
            )
        )
        via_contacts = {row[0] for row in rows if _matches(row[1:], needle)}
    out = []
    for org in session.scalars(stmt.order_by(Organization.acronym_key)):
        if lang and lang not in (org.languages or []):
            continue
        if tag_key and tag_key not in {t.casefold() for t in org.tags or []}:
            continue
        if needle and org.id not in via_contacts and not _matches([org.acronym, org.name], needle):
            continue
        out.append(org)
    return out


def contact_counts(session: Session, *, archived: bool = False) -> dict[int, int]:
    """Number of contacts per organization id (archived ones only if *archived*)."""
    stmt = sa.select(Contact.organization_id, sa.func.count()).group_by(Contact.organization_id)
    if not archived:
        stmt = stmt.where(Contact.archived_at.is_(None), Contact.forgotten_at.is_(None))
    return dict(session.execute(stmt).all())


def _must(parser: Any, value: Any, field: str) -> Any:
    try:
        return parser(value)
    except FieldError as exc:
        raise ValidationError(f"{field}: {exc}") from None


def org_references(session: Session, org: Organization) -> dict[str, int]:
    """How many letters and responses point at *org* (or at its contacts)."""
    letters = session.scalar(
        sa.select(sa.func.count()).select_from(Letter).where(Letter.organization_id == org.id)
    )
    responses = session.scalar(
        sa.select(sa.func.count()).select_from(Response).where(Response.organization_id == org.id)
    )
    return {"letters": letters or 0, "responses": responses or 0}


def remove_organization(org: Organization, *, session: Session, force: bool = False) -> str:
    """Delete *org* and its contacts, or archive them when history points at them.

    Returns ``"removed"`` or ``"archived"``. Without *force*, an organization
    with letters or responses is refused (:class:`ConflictError`).
    """
    refs = org_references(session, org)
    campaigns = _recipient_of(session, org.id)
    if refs["letters"] or refs["responses"] or campaigns:
        if not force:
            if refs["letters"] or refs["responses"]:
                raise ConflictError(
                    f"organization {org.acronym} has {refs['letters']} letter(s) and "
                    f"{refs['responses']} response(s); use --force to archive it instead"
                )
            raise ConflictError(
                f"organization {org.acronym} is a recipient of campaign(s) "
                f"{', '.join(campaigns)}: take it out first (`outreach campaigns "
                f"remove-recipients {campaigns[0]} {org.acronym}`), or use --force to "
                "archive it instead"
            )
        if org.archived_at is not None:
            return "archived"  # already: nothing to change or to log
        now = utcnow()
        org.archived_at = now
        for contact in org.contacts:
            contact.archived_at = contact.archived_at or now
        session.flush()
        record_activity(
            session,
            action="archive",
            entity="organization",
            entity_id=org.id,
            organization_id=org.id,
            summary=f"archived organization {org.acronym} and its {len(org.contacts)} contact(s)",
            changes={"archived_at": [None, now.isoformat()]},
        )
        return "archived"
    record = org_record(org)
    contacts = [contact_record(c) for c in org.contacts]
    for contact in list(org.contacts):
        session.delete(contact)
    org_id = org.id
    session.delete(org)
    session.flush()
    record_activity(
        session,
        action="remove",
        entity="organization",
        entity_id=org_id,
        organization_id=org_id,
        summary=f"removed organization {record['acronym']} and {len(contacts)} contact(s)",
        changes={k: [json_value(v), None] for k, v in record.items() if v not in (None, [])},
    )
    return "removed"


def _recipient_of(session: Session, org_id: int) -> list[str]:
    """Slugs of the campaigns that have the organization among their recipients."""
    return list(
        session.scalars(
            sa.select(Campaign.slug)
            .join(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id)
            .where(CampaignRecipient.organization_id == org_id)
            .order_by(Campaign.slug)
        )
    )


def _move_recipients(session: Session, drop_id: int, keep_id: int) -> int:
    """Campaign recipient rows of *drop_id* go to *keep_id*; where both were
    recipients of the same campaign, *keep_id*'s row stays (taking the
    duplicate's chosen contact if it had none)."""
    rows = session.scalars(
        sa.select(CampaignRecipient).where(
            CampaignRecipient.organization_id.in_([drop_id, keep_id])
        )
    ).all()
    kept = {r.campaign_id: r for r in rows if r.organization_id == keep_id}
    moved = 0
    for row in rows:
        if row.organization_id != drop_id:
            continue
        mine = kept.get(row.campaign_id)
        if mine is None:
            row.organization_id = keep_id
        else:
            if mine.contact_id is None and row.contact_id is not None:
                mine.contact_id = row.contact_id
            session.delete(row)
        moved += 1
    session.flush()
    return moved


def merge_organizations(
    keep: Organization, drop: Organization, *, session: Session
) -> dict[str, int]:
    """Fold *drop* into *keep*: its contacts, letters, responses and activity move
    to *keep*; fields *keep* lacks are taken from *drop*; *drop* is deleted.

    Returns how many rows of each kind moved.
    """
    if keep.id == drop.id:
        raise ConflictError("cannot merge an organization with itself")
    fill: dict[str, Any] = {}
    for field in ORG_FIELDS:
        if field in ("acronym", "name"):
            continue
        mine, theirs = getattr(keep, field), getattr(drop, field)
        if field in LIST_FIELDS:
            union = list(mine or []) + [x for x in theirs or [] if x not in (mine or [])]
            if union != list(mine or []):
                fill[field] = union
        elif mine in (None, "", OrgKind.OTHER) and theirs not in (None, "", OrgKind.OTHER):
            fill[field] = theirs
    session.flush()
    # One primary contact: the kept organization's, if it has one.
    keep_primary = session.scalar(
        sa.select(Contact)
        .where(Contact.organization_id == keep.id, Contact.is_primary.is_(True))
        .order_by(Contact.id)
        .limit(1)
    )
    moved = {
        "contacts": _move(session, Contact, Contact.organization_id, drop.id, keep.id),
        "letters": _move(session, Letter, Letter.organization_id, drop.id, keep.id),
        "responses": _move(session, Response, Response.organization_id, drop.id, keep.id),
        "campaigns": _move_recipients(session, drop.id, keep.id),
        "activity": _move(session, Activity, Activity.organization_id, drop.id, keep.id),
    }
    dropped = org_record(drop)
    drop_id = drop.id
    session.expire_all()  # the bulk updates above bypassed the loaded objects
    session.delete(drop)
    session.flush()
    if keep_primary is not None:
        _only_primary(session, keep_primary)
    changes = _apply(keep, fill)
    session.flush()
    record_activity(
        session,
        action="merge",
        entity="organization",
        entity_id=keep.id,
        organization_id=keep.id,
        summary=(
            f"merged organization {dropped['acronym']} (#{drop_id}) into {keep.acronym}: "
            + ", ".join(f"{n} {k}" for k, n in moved.items())
        ),
        changes={"merged_from": [_jsonable_record(dropped), None], **changes},
    )
    return moved


def _jsonable_record(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: json_value(v) for k, v in record.items()}


def _move(session: Session, model: Any, column: Any, old: int, new: int) -> int:
    result = session.execute(
        sa.update(model).where(column == old).values({column.key: new}),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount or 0


# --- contacts -----------------------------------------------------------------


def contact_record(contact: Contact) -> dict[str, Any]:
    """The contact's fields as plain values; ``organization`` is the acronym."""
    return {
        "organization": contact.organization.acronym,
        "kind": contact.kind.value if contact.kind else None,
        "name": contact.name,
        "position": contact.position,
        "salutation": contact.salutation,
        "email": contact.email,
        "phone": contact.phone,
        "postal_address": contact.postal_address,
        "language": contact.language,
        "is_primary": bool(contact.is_primary),
        "do_not_contact": bool(contact.do_not_contact),
        "do_not_contact_reason": contact.do_not_contact_reason,
        "tags": list(contact.tags or []),
        "notes": contact.notes,
    }


def find_contact(session: Session, ref: str | int) -> Contact | None:
    """The contact with this e-mail (any case) or id (``12`` or ``#12``)."""
    if isinstance(ref, int):
        return session.get(Contact, ref)
    text = str(ref).strip()
    if "@" in text:
        return session.scalar(sa.select(Contact).where(Contact.email_key == text.casefold()))
    digits = text.lstrip("#")
    if digits.isdigit():
        return session.get(Contact, int(digits))
    return None


def get_contact(session: Session, ref: str | int) -> Contact:
    contact = find_contact(session, ref)
    if contact is None:
        raise NotFoundError(
            f"no contact {ref!r}: give an e-mail address or a contact id "
            "(see `outreach contacts list`)"
        )
    return contact


def _contact_by_name(session: Session, org_id: int, name: str) -> Contact | None:
    folded = name.casefold()
    for contact in session.scalars(sa.select(Contact).where(Contact.organization_id == org_id)):
        if contact.name.casefold() == folded and contact.forgotten_at is None:
            return contact
    return None


def _check_email_free(session: Session, email: str | None, contact_id: int | None) -> None:
    if not email:
        return
    other = session.scalar(sa.select(Contact).where(Contact.email_key == email.casefold()))
    if other is not None and other.id != contact_id:
        raise ConflictError(
            f"{email} already belongs to {other.name} ({other.organization.acronym}, #{other.id})"
        )


def add_contact(*, session: Session, **fields: Any) -> Contact:
    """Create a contact. ``organization`` is an :class:`Organization` or its acronym."""
    org = fields.pop("organization", None)
    if isinstance(org, Organization):
        fields["organization"] = org.acronym
    else:
        fields["organization"] = org
    values = _checked(clean_contact, fields, "contact", CONTACT_REQUIRED)
    if not isinstance(org, Organization):
        org = get_organization(session, values["organization"])
    del values["organization"]
    _check_email_free(session, values.get("email"), None)
    same = _contact_by_name(session, org.id, values["name"])
    if same is not None:
        raise ConflictError(
            f"{org.acronym} already has a contact called {same.name!r} (#{same.id}): "
            "use `outreach contacts edit` to change it"
        )
    values["kind"] = values.get("kind") or ContactKind.PERSON
    contact = Contact(organization=org, **{k: v for k, v in values.items() if v is not None})
    session.add(contact)
    session.flush()
    record_activity(
        session,
        action="create",
        entity="contact",
        entity_id=contact.id,
        organization_id=org.id,
        summary=f"added contact {contact.name} at {org.acronym}",
    )
    if contact.is_primary:
        _only_primary(session, contact)
    return contact


def _only_primary(session: Session, contact: Contact) -> None:
    """An organization has one primary contact: the others stop being primary."""
    for other in session.scalars(
        sa.select(Contact).where(
            Contact.organization_id == contact.organization_id,
            Contact.is_primary.is_(True),
            Contact.id != contact.id,
        )
    ):
        other.is_primary = False
        record_activity(
            session,
            action="update",
            entity="contact",
            entity_id=other.id,
            organization_id=other.organization_id,
            summary=f"{other.name} is no longer the primary contact ({contact.name} is)",
            changes={"is_primary": [True, False]},
        )
    session.flush()


def update_contact(contact: Contact, *, session: Session, **fields: Any) -> dict[str, list[Any]]:
    """Change fields of *contact* (``organization`` moves it); returns the changes."""
    org = fields.pop("organization", None)
    if isinstance(org, Organization):
        fields["organization"] = org.acronym
    elif org is not None:
        fields["organization"] = org
    values = _checked(clean_contact, fields, f"contact #{contact.id}")
    if "name" in values and not values["name"]:
        raise ValidationError(f"contact #{contact.id}: name cannot be empty", ["name: is required"])
    if "kind" in values and values["kind"] is None:
        values["kind"] = ContactKind.PERSON
    for field in BOOL_FIELDS:
        if field in values and values[field] is None:
            values[field] = False
    changes: dict[str, list[Any]] = {}
    if values.get("organization"):
        target = (
            org
            if isinstance(org, Organization)
            else get_organization(session, values["organization"])
        )
        if target.id != contact.organization_id:
            changes["organization"] = [contact.organization.acronym, target.acronym]
            contact.organization = target
    values.pop("organization", None)
    if "email" in values:
        _check_email_free(session, values["email"], contact.id)
    if "name" in values or changes.get("organization"):
        same = _contact_by_name(
            session, contact.organization.id, values.get("name") or contact.name
        )
        if same is not None and same.id != contact.id:
            raise ConflictError(
                f"{contact.organization.acronym} already has a contact called {same.name!r} "
                f"(#{same.id}): merge them with `outreach contacts merge`"
            )
    changes.update(_apply(contact, values))
    if changes:
        session.flush()
        record_activity(
            session,
            action="update",
            entity="contact",
            entity_id=contact.id,
            organization_id=contact.organization_id,
            summary=f"edited contact {contact.name}: {', '.join(changes)}",
            changes=changes,
        )
        if contact.is_primary and ("is_primary" in changes or "organization" in changes):
            _only_primary(session, contact)
    return changes


def list_contacts(
    *,
    session: Session,
    organization: str | Organization | None = None,
    region: str | Region | None = None,
    kind: str | ContactKind | None = None,
    tag: str | None = None,
    language: str | None = None,
    search: str | None = None,
    archived: bool = False,
) -> list[Contact]:
    """Contacts matching every filter given, by organization then name.

    *search* looks in the name, position, e-mail and organization acronym;
    *language* matches the contact's language, or the organization's working
    languages when the contact has none. Archived and forgotten contacts appear
    only if *archived*.
    """
    stmt = (
        sa.select(Contact).join(Contact.organization).options(contains_eager(Contact.organization))
    )
    if organization is not None:
        org = (
            organization
            if isinstance(organization, Organization)
            else get_organization(session, organization)
        )
        stmt = stmt.where(Contact.organization_id == org.id)
    if region:
        stmt = stmt.where(Organization.region == _must(parse_region, region, "region"))
    if kind:
        stmt = stmt.where(Contact.kind == _must(_contact_kind, kind, "kind"))
    if not archived:
        stmt = stmt.where(Contact.archived_at.is_(None), Contact.forgotten_at.is_(None))
    needle = search.strip().casefold() if search else None
    if needle and needle.isascii():
        like = f"%{needle}%"
        stmt = stmt.where(
            sa.or_(
                Contact.name.ilike(like),
                Contact.position.ilike(like),
                Contact.email_key.like(like),
                Organization.acronym_key.like(like),
            )
        )
    lang = _must(parse_language, language, "language") if language else None
    tag_key = tag.strip().casefold() if tag else None
    stmt = stmt.order_by(Organization.acronym_key, Contact.name, Contact.id)
    out = []
    for contact in session.scalars(stmt):
        if (
            lang
            and contact.language != lang
            and (contact.language or lang not in (contact.organization.languages or []))
        ):
            continue
        if tag_key and tag_key not in {t.casefold() for t in contact.tags or []}:
            continue
        if needle and not _matches(
            [contact.name, contact.position, contact.email, contact.organization.acronym], needle
        ):
            continue
        out.append(contact)
    return out


def contact_references(session: Session, contact: Contact) -> dict[str, int]:
    letters = session.scalar(
        sa.select(sa.func.count()).select_from(Letter).where(Letter.contact_id == contact.id)
    )
    responses = session.scalar(
        sa.select(sa.func.count()).select_from(Response).where(Response.contact_id == contact.id)
    )
    return {"letters": letters or 0, "responses": responses or 0}


def remove_contact(contact: Contact, *, session: Session, force: bool = False) -> str:
    """Delete *contact*, or archive it (with *force*) when letters or responses
    point at it. Returns ``"removed"`` or ``"archived"``."""
    refs = contact_references(session, contact)
    org_id = contact.organization_id
    if refs["letters"] or refs["responses"]:
        if not force:
            raise ConflictError(
                f"contact {contact.name} (#{contact.id}) has {refs['letters']} letter(s) and "
                f"{refs['responses']} response(s); use --force to archive it instead"
            )
        if contact.archived_at is not None:
            return "archived"  # already: nothing to change or to log
        now = utcnow()
        contact.archived_at = now
        session.flush()
        record_activity(
            session,
            action="archive",
            entity="contact",
            entity_id=contact.id,
            organization_id=org_id,
            summary=f"archived contact {contact.name}",
            changes={"archived_at": [None, now.isoformat()]},
        )
        return "archived"
    record = contact_record(contact)
    contact_id = contact.id
    session.delete(contact)
    session.flush()
    record_activity(
        session,
        action="remove",
        entity="contact",
        entity_id=contact_id,
        organization_id=org_id,
        summary=f"removed contact {record['name']} at {record['organization']}",
        changes={k: [json_value(v), None] for k, v in record.items() if v not in (None, [], False)},
    )
    return "removed"


def merge_contacts(keep: Contact, drop: Contact, *, session: Session) -> dict[str, int]:
    """Fold *drop* into *keep*: letters, responses and activity move to *keep*,
    fields *keep* lacks are filled from *drop*, and *drop* is deleted."""
    if keep.id == drop.id:
        raise ConflictError("cannot merge a contact with itself")
    if keep.organization_id != drop.organization_id:
        raise ConflictError(
            f"contacts #{keep.id} ({keep.organization.acronym}) and #{drop.id} "
            f"({drop.organization.acronym}) are at different organizations: move one with "
            "`outreach contacts edit --org`, or merge the organizations, first"
        )
    clash = session.execute(
        sa.select(Letter.campaign_id, Letter.round, Letter.version)
        .where(Letter.contact_id == drop.id)
        .intersect(
            sa.select(Letter.campaign_id, Letter.round, Letter.version).where(
                Letter.contact_id == keep.id
            )
        )
    ).first()
    if clash is not None:
        raise ConflictError(
            f"both contacts have a letter in the same campaign (#{clash[0]}, round {clash[1]}): "
            "cancel or regenerate one of them before merging"
        )
    fill: dict[str, Any] = {}
    for field in CONTACT_FIELDS:
        if field in ("organization", "name", "kind"):
            continue
        mine, theirs = getattr(keep, field), getattr(drop, field)
        if field in LIST_FIELDS:
            union = list(mine or []) + [x for x in theirs or [] if x not in (mine or [])]
            if union != list(mine or []):
                fill[field] = union
        elif field in BOOL_FIELDS:
            if theirs and not mine:
                fill[field] = True
        elif mine in (None, "") and theirs not in (None, ""):
            fill[field] = theirs
    dropped = contact_record(drop)
    drop_id = drop.id
    drop_email = fill.pop("email", None)
    session.flush()
    moved = {
        "letters": _move(session, Letter, Letter.contact_id, drop.id, keep.id),
        "responses": _move(session, Response, Response.contact_id, drop.id, keep.id),
        "activity": session.execute(
            sa.update(Activity)
            .where(Activity.entity == "contact", Activity.entity_id == drop.id)
            .values(entity_id=keep.id),
            execution_options={"synchronize_session": False},
        ).rowcount
        or 0,
    }
    # A campaign that chose the duplicate as its recipient writes to the kept
    # one (deleting the duplicate would otherwise blank the choice).
    _move(session, CampaignRecipient, CampaignRecipient.contact_id, drop.id, keep.id)
    session.expire_all()  # the bulk updates above bypassed the loaded objects
    session.delete(drop)
    session.flush()
    if drop_email:
        fill["email"] = drop_email  # free now that the duplicate is gone
    changes = _apply(keep, fill)
    session.flush()
    record_activity(
        session,
        action="merge",
        entity="contact",
        entity_id=keep.id,
        organization_id=keep.organization_id,
        summary=(
            f"merged contact {dropped['name']} (#{drop_id}) into {keep.name} (#{keep.id}): "
            + ", ".join(f"{n} {k}" for k, n in moved.items())
        ),
        changes={"merged_from": [_jsonable_record(dropped), None], **changes},
    )
    return moved


# --- privacy --------------------------------------------------------------------

_PERSONAL_FIELDS = ("name", "email", "phone", "postal_address", "notes", "salutation")


def forget_contact(contact: Contact, *, session: Session) -> dict[str, int]:
    """Erase a person's personal data on request, keeping the row so that counts
    of letters and responses survive.

    The name becomes "Forgotten contact"; e-mail, phone, postal address,
    salutation, notes and tags are cleared; the contact is marked
    do-not-contact and archived. Their name and address are also blanked out
    of the letters and responses that mention them and out of the activity
    log's earlier records about them. Returns how many rows were touched.
    """
    if contact.forgotten_at is not None:
        raise ConflictError(f"contact #{contact.id} was already forgotten")
    secrets = [s for s in (contact.name, contact.email) if s and len(s) >= 3]
    now = utcnow()
    touched = {"letters": 0, "responses": 0, "activity": 0}
    for letter in session.scalars(sa.select(Letter).where(Letter.contact_id == contact.id)):
        letter.to_address = None
        letter.subject = _redact(letter.subject, secrets)
        letter.body = _redact(letter.body, secrets)
        touched["letters"] += 1
    # Replies from them, including those matched by thread or domain (no contact set).
    from_them: Any = Response.contact_id == contact.id
    if contact.email_key:
        from_them = sa.or_(
            from_them, sa.func.lower(Response.sender).contains(contact.email_key, autoescape=True)
        )
    for response in session.scalars(sa.select(Response).where(from_them)):
        response.sender = None
        if response.summary:
            response.summary = _redact(response.summary, secrets)
        touched["responses"] += 1
    if contact.email_key:
        for message in session.scalars(
            sa.select(InboundMessage).where(
                sa.func.lower(InboundMessage.from_address).contains(
                    contact.email_key, autoescape=True
                )
            )
        ):
            message.from_address = None
            if message.subject:
                message.subject = _redact(message.subject, secrets)
            if message.to_address:
                message.to_address = _redact(message.to_address, secrets)
    for row in session.scalars(
        sa.select(Activity).where(Activity.entity == "contact", Activity.entity_id == contact.id)
    ):
        row.summary = _redact(row.summary or "", secrets) or None
        row.changes = {k: ["(erased)", "(erased)"] for k in (row.changes or {})} or None
        touched["activity"] += 1
    contact.name = FORGOTTEN_NAME
    contact.email = None
    contact.phone = None
    contact.postal_address = None
    contact.salutation = None
    contact.notes = None
    contact.tags = []
    contact.do_not_contact = True
    contact.do_not_contact_reason = "personal data erased on request"
    contact.forgotten_at = now
    contact.archived_at = contact.archived_at or now
    session.flush()
    record_activity(
        session,
        action="forget",
        entity="contact",
        entity_id=contact.id,
        organization_id=contact.organization_id,
        summary=f"erased the personal data of contact #{contact.id} on request",
        changes={f: ["(erased)", None] for f in _PERSONAL_FIELDS},
    )
    return touched


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = re.sub(re.escape(secret), "[forgotten]", text, flags=re.IGNORECASE)
    return text


def export_person(contact: Contact, *, session: Session) -> dict[str, Any]:
    """Everything held about one person, as plain JSON-ready values: their
    record, their letters, the responses from them and the activity log about them."""
    letters = session.scalars(
        sa.select(Letter).where(Letter.contact_id == contact.id).order_by(Letter.id)
    ).all()
    responses = session.scalars(
        sa.select(Response).where(Response.contact_id == contact.id).order_by(Response.id)
    ).all()
    activity = session.scalars(
        sa.select(Activity)
        .where(Activity.entity == "contact", Activity.entity_id == contact.id)
        .order_by(Activity.id)
    ).all()
    messages = (
        session.scalars(
            sa.select(InboundMessage)
            .where(
                sa.func.lower(InboundMessage.from_address).contains(
                    contact.email_key, autoescape=True
                )
            )
            .order_by(InboundMessage.id)
        ).all()
        if contact.email_key
        else []
    )
    record = contact_record(contact)
    record["organization_name"] = contact.organization.name
    return {
        "contact": {
            "id": contact.id,
            **record,
            "created_at": json_value(contact.created_at),
            "updated_at": json_value(contact.updated_at),
            "archived_at": json_value(contact.archived_at),
            "forgotten_at": json_value(contact.forgotten_at),
        },
        "letters": [
            {
                "id": letter.id,
                "campaign": letter.campaign.slug,
                "round": letter.round,
                "version": letter.version,
                "language": letter.language,
                "channel": json_value(letter.channel),
                "status": json_value(letter.status),
                "to_address": letter.to_address,
                "subject": letter.subject,
                "body": letter.body,
                "created_at": json_value(letter.created_at),
                "sent_at": json_value(letter.sent_at),
            }
            for letter in letters
        ],
        "responses": [
            {
                "id": response.id,
                "campaign": response.campaign.slug if response.campaign else None,
                "letter_id": response.letter_id,
                "received_at": json_value(response.received_at),
                "channel": json_value(response.channel),
                "sender": response.sender,
                "stance": json_value(response.stance),
                "summary": response.summary,
                "attachments": [a.filename for a in response.attachments],
            }
            for response in responses
        ],
        # E-mail from them read by `responses import` (matched or not).
        "messages": [
            {
                "id": message.id,
                "message_id": message.message_id,
                "from": message.from_address,
                "to": message.to_address,
                "subject": message.subject,
                "date": json_value(message.date),
                "status": json_value(message.status),
                "response_id": message.response_id,
            }
            for message in messages
        ],
        "activity": [
            {
                "at": json_value(row.at),
                "actor": row.actor,
                "action": row.action,
                "summary": row.summary,
                "changes": row.changes,
            }
            for row in activity
        ],
    }


# --- history ------------------------------------------------------------------


def organization_history(org: Organization, *, session: Session) -> list[dict[str, Any]]:
    """The organization's timeline across campaigns and years, newest first:
    letters, reminders, responses and notes (see :func:`outreach.history.org_timeline`)."""
    from outreach.history import org_timeline

    return [
        {
            "when": entry.at,
            "campaign": entry.campaign,
            "what": entry.kind,
            "who": entry.actor or "",
            "channel": entry.channel,
            "status": entry.status,
            "summary": entry.summary,
        }
        for entry in reversed(org_timeline(session, org.id))
    ]
