"""Letters' reference numbers: a campaign's pattern, read strictly, and the
numbers its new letters get.

A pattern such as ``{campaign}/{year}/{seq:03}`` (the default) makes
``third-pillar-2012/2012/007``. It may use only the placeholders of
:data:`PLACEHOLDERS`, by their plain names (no ``.attribute``, ``[index]``
or ``!conversion``), ``{seq}`` and ``{round}`` with at most a zero-padded
width (``{seq:03}``), and must use ``{seq}``: without it two letters would
get the same reference. ``{{`` and ``}}`` are literal braces. The pattern is
never handed to ``str.format``: :class:`Pattern` puts the pieces together
itself.

Numbers: ``campaigns.reference_seq`` is the last sequence number the
campaign gave. :func:`assign_references` moves it on in the generating
transaction (an ``UPDATE`` that also locks the campaign's row on
PostgreSQL, on top of the write lock every generation holds), so a number is
given once: a batch that fails or is killed rolls the counter back with its
letters, and the next run gives the same numbers to the letters it makes.
A new version of a letter keeps its reference; a reminder gets its own.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from outreach.errors import ConflictError, ValidationError
from outreach.schema import tables

DEFAULT_PATTERN = "{campaign}/{year}/{seq:03}"
#: The longest pattern a campaign may keep (characters).
MAX_PATTERN = 80
#: The longest reference a letter may keep (``letters.reference``).
MAX_REFERENCE = 120
#: The field errors name (the option ``--reference-pattern``).
FIELD = "reference_pattern"

#: What a pattern may use, and what each stands for.
PLACEHOLDERS = {
    "campaign": "the campaign's name (its slug)",
    "CAMPAIGN": "the campaign's name in capitals",
    "year": "the year of the letter's date",
    "seq": "the letter's number in its campaign: 1, 2, 3, ... in the order they are made",
    "acronym": "the organization's acronym (ASCII letters, digits and '-' only)",
    "round": "0 for the letter, 1, 2, ... for its reminders",
    "lang": "the letter's language code",
}
_NUMBERS = frozenset({"seq", "round"})
#: A number's format: a zero-padded width from 1 to 12 ("03").
_WIDTH = re.compile(r"0(?:[1-9]|1[0-2])\Z")
_NAMES = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
_NOT_SAFE = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class Pattern:
    """A checked reference pattern: literal text and placeholders in turn."""

    text: str
    #: (literal text, placeholder name or None, zero-padded width or 0)
    parts: tuple[tuple[str, str | None, int], ...]

    @functools.cached_property
    def uses(self) -> frozenset[str]:
        return frozenset(name for _text, name, _width in self.parts if name)

    def format(
        self,
        *,
        campaign: str,
        year: int,
        seq: int,
        acronym: str = "",
        round: int = 0,
        lang: str = "",
    ) -> str:
        """The reference these values make."""
        out = []
        for text, name, width in self.parts:
            out.append(text)
            if name is None:
                continue
            if name in _NUMBERS:
                number = int(seq if name == "seq" else round)
                out.append(f"{number:0{width}d}" if width else str(number))
            elif name == "campaign":
                out.append(campaign)
            elif name == "CAMPAIGN":
                out.append(campaign.upper())
            elif name == "year":
                out.append(str(int(year)))
            elif name == "acronym":
                out.append(safe_token(acronym) or "org")
            else:  # lang
                out.append(safe_token(lang))
        return "".join(out)


def _refuse(message: str) -> ValidationError:
    return ValidationError(f"the reference pattern {message}", field=FIELD)


def _show(text: str) -> str:
    """*text* of a pattern quoted for a message (shortened)."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def parse_pattern(text: str | None) -> Pattern:
    """*text* as a :class:`Pattern` (None: the default), or one
    :class:`ValidationError` for the field ``reference_pattern`` saying what
    is wrong and what to write instead."""
    if text is None:
        text = DEFAULT_PATTERN
    if not isinstance(text, str):
        raise _refuse(f"must be text, such as {DEFAULT_PATTERN}")
    for char in text:
        if unicodedata.category(char)[0] == "C" or (char.isspace() and char != " "):
            from outreach.safetext import char_name

            raise _refuse(
                f"holds {char_name(char)}, a control or spacing character: use printable "
                "text and plain spaces only"
            )
    text = text.strip()
    if not text:
        raise _refuse(f"is empty: give one with {{seq}} in it, such as {DEFAULT_PATTERN}")
    if len(text) > MAX_PATTERN:
        raise _refuse(f"is {len(text)} characters long: keep it to {MAX_PATTERN}")
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError:
        raise _refuse(
            f"{_show(text)} has a '{{' or '}}' out of place: write placeholders as "
            "{seq} and a brace of its own as {{ or }}"
        ) from None
    parts: list[tuple[str, str | None, int]] = []
    for literal, name, spec, conversion in pieces:
        if name is None:
            parts.append((literal, None, 0))
            continue
        shown = f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
        if name not in PLACEHOLDERS:
            raise _refuse(
                f"uses {_show(shown)}: use only {_NAMES}, as they are (no '.', '[' or positions)"
            )
        if conversion:
            raise _refuse(f"uses {_show(shown)}: write {{{name}}}, without '!{conversion}'")
        width = 0
        if spec:
            if name not in _NUMBERS or not _WIDTH.match(spec):
                allowed = (
                    f"{{{name}}} or {{{name}:03}} (a zero-padded width up to 12)"
                    if name in _NUMBERS
                    else f"{{{name}}}, without a format"
                )
                raise _refuse(f"uses {_show(shown)}: write {allowed}")
            width = int(spec)
        parts.append((literal, name, width))
    pattern = Pattern(text, tuple(parts))
    if "seq" not in pattern.uses:
        raise _refuse(
            f"{_show(text)} has no {{seq}}: without it two letters would get the same "
            f"reference; add it, as in {DEFAULT_PATTERN}"
        )
    return pattern


def check_pattern(text: str | None) -> str | None:
    """*text* as a campaign stores it (stripped; None for the default), or a
    :class:`ValidationError`."""
    if text is None:
        return None
    return parse_pattern(text).text


@functools.lru_cache(maxsize=4096)
def safe_token(text: str | None) -> str:
    """*text* in ASCII letters, digits and single hyphens ("G-77 & China" ->
    "G-77-China", "Ｃ.Ａ.Ｎ." -> "C-A-N"); accents dropped; "" when nothing is left."""
    if not text:
        return ""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SAFE.sub("-", ascii_text).strip("-")


def campaign_pattern(campaign: Any) -> Pattern:
    """The pattern a stored *campaign* row makes references with; a pattern
    that no longer passes is a :class:`ValidationError` saying how to fix it."""
    try:
        return parse_pattern(getattr(campaign, "reference_pattern", None))
    except ValidationError as exc:
        raise ValidationError(
            f"campaign {campaign.slug}: {exc.message}",
            hint=f"campaigns edit {campaign.slug} --reference-pattern PATTERN",
        ) from None


def reserve(conn: sa.Connection, campaign_id: int, count: int) -> int:
    """The first of *count* sequence numbers, new to the campaign: its
    counter is moved on in *conn*'s transaction (and its row locked on
    PostgreSQL until that ends), so no other transaction gets them."""
    c = tables.campaigns.c
    conn.execute(
        sa.update(tables.campaigns)
        .where(c.id == campaign_id)
        # the campaign itself did not change
        .values(reference_seq=c.reference_seq + count, updated_at=c.updated_at)
    )
    last = conn.execute(sa.select(c.reference_seq).where(c.id == campaign_id)).scalar_one()
    return int(last) - count + 1


def assign_references(
    conn: sa.Connection,
    campaign: Any,
    jobs: Sequence[Any],
    existing: Mapping[tuple[int, int, int], Any],
    *,
    language_for: Callable[[Any], str],
    year: int,
) -> int:
    """Set each job's ``reference`` before it is rendered (templates print
    it): the reference of its current letter, which a new version keeps, or
    the campaign's next number for a new letter (a reminder is one). A sent
    or cancelled letter from before references keeps none. Returns how many
    numbers were given."""
    from outreach.letters.jobs import FROZEN

    pattern = campaign_pattern(campaign)
    new = []
    for job in jobs:
        old = existing.get((job.org["id"], job.contact["id"], job.round))
        if old is not None and (old.reference or old.status in FROZEN):
            job.reference = old.reference
        else:
            new.append(job)
    if not new:
        return 0
    first = reserve(conn, campaign.id, len(new))
    for seq, job in enumerate(new, first):
        job.reference = make_reference(
            pattern, campaign, job, seq=seq, language=language_for(job), year=year
        )
    check_free(conn, campaign, pattern, [job.reference for job in new])
    return len(new)


def make_reference(
    pattern: Pattern, campaign: Any, job: Any, *, seq: int, language: str, year: int
) -> str:
    """*job*'s reference with number *seq*; too long a one is a
    :class:`ValidationError` naming the campaign's pattern."""
    acronym = ""
    if "acronym" in pattern.uses:
        acronym = safe_token(job.org.get("acronym")) or f"org-{job.org.get('id')}"
    reference = pattern.format(
        campaign=campaign.slug, year=year, seq=seq, acronym=acronym, round=job.round, lang=language
    )
    if len(reference) > MAX_REFERENCE:
        raise ValidationError(
            f"campaign {campaign.slug}: its reference pattern {pattern.text!r} makes "
            f"{_show(reference)}, {len(reference)} characters long: a reference is at most "
            f"{MAX_REFERENCE}",
            hint=f"campaigns edit {campaign.slug} --reference-pattern PATTERN",
        )
    return reference


def check_free(
    conn: sa.Connection, campaign: Any, pattern: Pattern, references: Sequence[str]
) -> None:
    """A :class:`ConflictError` if the new *references* repeat one another or
    one a letter already has (a pattern without ``{campaign}``, or whose
    placeholders run together): the unique constraint would refuse them
    half-way through the batch."""
    hint = f"campaigns edit {campaign.slug} --reference-pattern PATTERN"
    seen: set[str] = set()
    for reference in references:
        if reference in seen:
            raise ConflictError(
                f"campaign {campaign.slug}: its reference pattern {pattern.text!r} makes "
                f"{reference!r} for two letters: put a separator such as '/' between "
                "{seq} and the placeholders beside it",
                hint=hint,
            )
        seen.add(reference)
    letters, campaigns = tables.letters, tables.campaigns
    for chunk in _chunks(references, 500):
        taken = conn.execute(
            sa.select(letters.c.reference, letters.c.id, campaigns.c.slug)
            .join(campaigns, letters.c.campaign_id == campaigns.c.id)
            .where(letters.c.reference.in_(chunk))
            .order_by(letters.c.id)
            .limit(1)
        ).first()
        if taken is not None:
            where = (
                "put {campaign} in it"
                if taken.slug != campaign.slug
                else "put a separator such as '/' between {seq} and the placeholders beside it"
            )
            raise ConflictError(
                f"campaign {campaign.slug}: the reference {taken.reference!r} is letter "
                f"{taken.id}'s already (campaign {taken.slug}): {where}",
                hint=hint,
            )


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def next_reference(
    conn: sa.Connection, campaign: Any, job: Any, *, language: str, year: int
) -> str:
    """The reference *job*'s letter would get if it were generated now, for a
    preview: its current letter's (which a new version keeps), else the
    campaign's next number (another letter may take it first). Nothing is
    written."""
    letters = tables.letters.c
    if job.contact is not None:
        kept = conn.execute(
            sa.select(letters.reference).where(
                letters.campaign_id == campaign.id,
                letters.organization_id == job.org["id"],
                letters.contact_id == job.contact["id"],
                letters.round == job.round,
                letters.superseded_at.is_(None),
                letters.reference.is_not(None),
            )
        ).scalar()
        if kept:
            return str(kept)
    pattern = campaign_pattern(campaign)
    seq = int(getattr(campaign, "reference_seq", 0) or 0) + 1
    return make_reference(pattern, campaign, job, seq=seq, language=language, year=year)
