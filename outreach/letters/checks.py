"""Checking letters before they go: what a careful reader would stop at.

Each finding is ``{"code", "severity", "message"}``; an ``error`` blocks
approval (unless overridden for that letter, with a reason), a ``warning``
is shown. The checks:

- ``fallback``: a field had no text in the letter's language and came from
  another one (what the renderer recorded in ``LetterDoc.fallbacks``);
- ``script``: words in another writing system than the letter's language
  (Latin words in an Arabic, Russian or Chinese letter; Cyrillic or Arabic
  in a Latin-script one), outside names, acronyms, e-mail addresses and links;
- ``unfilled``: a value that did not come through ("None", template braces,
  a space left before punctuation, a line of punctuation alone);
- ``past-date``: a date the letter names that is before the letter's date
  (a reply-by already gone);
- ``repeated-line``: an address line said twice;
- ``language``: a letter not in the contact's language, and why
  ("pt -> es: no pt variant").

:func:`check_letter` runs them on one letter at generation;
:func:`check_campaign` runs them again on a campaign's stored letters.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from outreach.letters.scripts import WORD, foreign_words, script_names
from outreach.render.markdown import without_markers
from outreach.schema import tables

ERROR = "error"
WARNING = "warning"
#: A date the letter names that is already past. A warning for now: the
#: shared test fixtures still date their campaigns in 2012 (see the report
#: of issue 13); an error once they do not.
PAST_DATE_SEVERITY = WARNING

Finding = dict[str, str]

_UNFILLED = (
    (re.compile(r"\bNone\b"), '"None" where a value was expected'),
    (re.compile(r"\{\{|\}\}|\{%|%\}"), "template braces left in the text"),
    (re.compile(r"\bUndefined\b"), '"Undefined" where a value was expected'),
)
#: Text each pattern of _UNFILLED needs: looked for first, as plain text.
_UNFILLED_MARKS = ("None", "{{", "}}", "{%", "%}", "Undefined")
_SPACE_BEFORE = re.compile(r"[^\s]( {2,}[,.;:!?)]| [,.)])")
_ONLY_PUNCT = re.compile("^\\s*[,.;:!?()\\-\u2013\u2014]+\\s*$")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _finding(code: str, severity: str, message: str) -> Finding:
    return {"code": code, "severity": severity, "message": message}


def script_findings(language: str, text: str, names: Iterable[str | None] = ()) -> list[Finding]:
    """Words of *text* in another script than *language*'s, except the
    words of *names* (proper names the letter may quote as they are),
    acronyms, e-mail addresses and links."""
    odd = foreign_words(language, text, names)
    if not odd:
        return []
    scripts = script_names(odd)
    shown = ", ".join(f'"{w}"' for w in odd[:6]) + (" ..." if len(odd) > 6 else "")
    severity = ERROR if len(odd) > 1 else WARNING
    return [
        _finding(
            "script",
            severity,
            f"{'/'.join(scripts)} words in a {language} letter, outside names and acronyms: "
            f"{shown}",
        )
    ]


def unfilled_findings(subject: str, body: str) -> list[Finding]:
    """Values that did not come through: "None", braces, a gap before
    punctuation, a line of punctuation alone, an empty subject."""
    out: list[Finding] = []
    if not subject.strip():
        out.append(_finding("unfilled", ERROR, "the subject is empty"))
    text = f"{subject}\n{body}"
    if any(mark in text for mark in _UNFILLED_MARKS):  # most letters have none
        for pattern, what in _UNFILLED:
            match = pattern.search(text)
            if match:
                out.append(_finding("unfilled", ERROR, f"{what}: {_around(text, match)}"))
    lines = body.splitlines()
    for line in lines:
        match = _space_before(line)
        if match:
            out.append(
                _finding(
                    "unfilled",
                    ERROR,
                    f"a space before punctuation, as if a value were empty: {_around(line, match)}",
                )
            )
            break
    for line in lines:
        if _only_punctuation(line):
            out.append(
                _finding(
                    "unfilled",
                    ERROR,
                    f'a line with only "{line.strip()}" on it, as if a value were empty',
                )
            )
            break
    return out


@functools.lru_cache(maxsize=32768)
def _space_before(line: str) -> re.Match[str] | None:
    """A gap before punctuation in *line* (not in a table or a code fence)."""
    if line.strip().startswith(("|", "```")):
        return None
    return _SPACE_BEFORE.search(line)


@functools.lru_cache(maxsize=32768)
def _only_punctuation(line: str) -> bool:
    return _ONLY_PUNCT.match(line) is not None


def _around(text: str, match: re.Match[str]) -> str:
    start, end = max(0, match.start() - 20), min(len(text), match.end() + 20)
    return '"' + " ".join(text[start:end].split()) + '"'


def date_findings(
    language: str, body: str, dated: dt.date | None, dates: Mapping[str, Any]
) -> list[Finding]:
    """Each date of *dates* (a label -> date, e.g. the campaign's variables
    and the dialogue's date) that the letter names and that is before the
    letter's date; and any ISO date in the text before it."""
    if dated is None:
        return []
    out: list[Finding] = []
    seen: set[dt.date] = set()
    for label, value in dates.items():
        if isinstance(value, dt.datetime):
            value = value.date()
        if not isinstance(value, dt.date) or value >= dated or value in seen:
            continue
        if any(form in body for form in _date_forms(value, language)):
            seen.add(value)
            out.append(
                _finding(
                    "past-date",
                    PAST_DATE_SEVERITY,
                    f"{label} {value.isoformat()} is before the letter's date "
                    f"{dated.isoformat()}",
                )
            )
    for line in body.split("\n"):
        for value in _iso_dates(line):
            if value < dated and value not in seen:
                seen.add(value)
                out.append(
                    _finding(
                        "past-date",
                        PAST_DATE_SEVERITY,
                        f"the date {value.isoformat()} is before the letter's date "
                        f"{dated.isoformat()}",
                    )
                )
    return out


@functools.lru_cache(maxsize=32768)
def _iso_dates(line: str) -> tuple[dt.date, ...]:
    """The real dates written YYYY-MM-DD in *line* (read once per line)."""
    found = []
    for match in _ISO_DATE.finditer(line):
        try:
            found.append(dt.date(*(int(g) for g in match.groups())))
        except ValueError:
            continue
    return tuple(found)


@functools.lru_cache(maxsize=1024)
def _date_forms(value: dt.date, language: str) -> tuple[str, ...]:
    forms = [value.isoformat()]
    try:
        from outreach.templating.filters import format_date

        forms.append(format_date(value, language))
    except Exception:  # an unknown locale: the ISO form is still looked for
        pass
    return tuple(forms)


def repeated_line_findings(body: str, to_address: str | None) -> list[Finding]:
    """An address line given twice: in the postal address, or two equal
    lines one after the other in the letter."""
    out: list[Finding] = []
    if to_address and "\n" in to_address:
        seen: set[str] = set()
        for line in to_address.splitlines():
            key = " ".join(line.split()).casefold()
            if key and key in seen:
                message = f'address line twice: "{line.strip()}"'
                out.append(_finding("repeated-line", WARNING, message))
                break
            seen.add(key)
    previous = ""
    for line in body.splitlines():
        key = _line_key(line)
        if key and key == previous and WORD.search(key):
            out.append(_finding("repeated-line", WARNING, f'line twice in a row: "{line.strip()}"'))
            break
        previous = key
    return out


@functools.lru_cache(maxsize=32768)
def _line_key(line: str) -> str:
    return " ".join(line.split()).casefold()


def fallback_findings(language: str, fallbacks: Iterable[Sequence[str]]) -> list[Finding]:
    out = []
    for item in fallbacks:
        name, source = item[0], item[1]
        out.append(
            _finding(
                "fallback",
                WARNING,
                f"{name} has no {language} text: the {source} one was used",
            )
        )
    return out


def language_findings(
    language: str,
    *,
    contact_language: str | None,
    org_languages: Sequence[str] = (),
    has_variant: Callable[[str], bool] | None = None,
) -> list[Finding]:
    """The letter is not in its contact's language (or, the contact having
    none, in none of the organization's working languages): why.
    *has_variant(lang)* says whether the template exists in *lang*."""
    wanted = contact_language
    if not wanted:
        if not org_languages or language in org_languages:
            return []
        wanted = org_languages[0]
    if wanted == language:
        return []
    if has_variant is not None and not has_variant(wanted):
        why = f"no {wanted} variant"
    else:
        why = "the campaign's default language was used"
    whose = "the contact's language" if contact_language else "the organization's language"
    return [
        _finding(
            "language",
            WARNING,
            f"{wanted} -> {language}: {why} (not in {whose})",
        )
    ]


def check_text(
    *,
    language: str,
    subject: str,
    body: str,
    dated: dt.date | None,
    to_address: str | None = None,
    names: Iterable[str | None] = (),
    dates: Mapping[str, Any] | None = None,
    fallbacks: Iterable[Sequence[str]] = (),
) -> list[Finding]:
    """The checks that read only the letter: fallbacks, script, unfilled
    values, past dates, repeated lines. They read the letter's text, not the
    markers that name its parts (``::: addressee``); the reference number
    is a code, not words in a language."""
    words = without_markers(body, drop=("reference",))
    body = without_markers(body)
    return [
        *fallback_findings(language, fallbacks),
        *script_findings(language, f"{subject}\n{words}", names),
        *unfilled_findings(subject, body),
        *date_findings(language, body, dated, dates or {}),
        *repeated_line_findings(body, to_address),
    ]


def letter_findings(
    *,
    reminder: bool,
    contact_language: str | None,
    org_languages: Sequence[str] = (),
    has_variant: Callable[[str], bool] | None = None,
    **text: Any,
) -> list[Finding]:
    """A letter's findings: :func:`check_text` of it (*text* are its
    arguments), then, unless it is a *reminder*, :func:`language_findings`
    (a reminder is in its letter's language: that letter was checked)."""
    findings = check_text(**text)
    if not reminder:
        findings += language_findings(
            text["language"],
            contact_language=contact_language,
            org_languages=org_languages,
            has_variant=has_variant,
        )
    return findings


def campaign_dates(variables: Mapping[str, Any] | None, dialogue: Any = None) -> dict[str, Any]:
    """The dates a letter may name: date-valued campaign variables and the
    dialogue's date, labelled for a finding's message."""
    from outreach.schema.types import variables_for_template

    out: dict[str, Any] = {}
    for key, value in variables_for_template(dict(variables or {})).items():
        if isinstance(value, dt.date):
            out[key] = value
    date = getattr(dialogue, "date", None) if dialogue is not None else None
    if isinstance(date, dt.date):
        out["the dialogue's date"] = date
    return out


def sender_names(sender: Mapping[str, Any] | None, signatory: str | None) -> list[str]:
    """The names in the sender block a letter may quote as they are."""
    names: list[str | None] = [signatory]

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, str):
            names.append(value)

    walk(dict(sender or {}))
    return [n for n in names if n]


def errors_in(findings: Iterable[Mapping[str, str]] | None) -> list[Mapping[str, str]]:
    return [f for f in findings or () if f.get("severity") == ERROR]


@dataclass
class LetterCheck:
    """One stored letter's findings, for ``letters check``."""

    letter_id: int
    acronym: str
    contact: str
    language: str
    status: str
    findings: list[Finding] = field(default_factory=list)
    override: str | None = None


_L = tables.letters
_O = tables.organizations
_C = tables.contacts


def check_campaign(
    conn: sa.Connection, campaign: Any, *, ids: Sequence[int] | None = None
) -> list[LetterCheck]:
    """Run the checks again on *campaign*'s current unsent letters (or the
    letters *ids*) from what is stored and the directory as it is now; the
    fallbacks recorded at generation are kept, and a letter out of date with
    the campaign (:mod:`outreach.letters.basis`) is an error."""
    from outreach.letters.basis import stale_letters
    from outreach.schema.enums import LetterStatus
    from outreach.templating import TemplateSet

    where = [_L.c.campaign_id == campaign.id, _L.c.superseded_at.is_(None)]
    if ids:
        where.append(_L.c.id.in_(list(ids)))
    else:
        where.append(_L.c.status.in_([LetterStatus.DRAFT, LetterStatus.APPROVED]))
    rows = conn.execute(
        sa.select(
            _L.c.id,
            _L.c.round,
            _L.c.language,
            _L.c.subject,
            _L.c.body,
            _L.c.status,
            _L.c.to_address,
            _L.c.dated,
            _L.c.basis,
            _L.c.template_hash,
            _L.c.created_at,
            _L.c.checks,
            _L.c.check_override,
            _L.c.reference,
            _O.c.acronym,
            _O.c.name.label("org_name"),
            _O.c.languages,
            _C.c.name.label("contact_name"),
            _C.c.language.label("contact_language"),
            _C.c.email,
        )
        .join(_O, _O.c.id == _L.c.organization_id)
        .join(_C, _C.c.id == _L.c.contact_id)
        .where(*where)
        .order_by(_O.c.acronym, _L.c.round, _L.c.id)
    ).all()
    if not rows:
        return []
    dialogue = None
    if campaign.dialogue_id is not None:
        dialogue = conn.execute(
            sa.select(tables.dialogues).where(tables.dialogues.c.id == campaign.dialogue_id)
        ).first()
    dates = campaign_dates(campaign.variables, dialogue)
    sender = sender_names(campaign.sender, campaign.signatory)
    stale = stale_letters(conn, campaign, rows)
    try:
        templates: TemplateSet | None = TemplateSet(campaign.templates_folder)
    except Exception:  # the folder is gone: the language check cannot say why
        templates = None
    variants: dict[bool, set[str]] = {}

    def has_variant(reminder: bool) -> Callable[[str], bool] | None:
        name = campaign.followup_template if reminder else campaign.template
        if templates is None or not name:
            return None
        if reminder not in variants:
            variants[reminder] = {*templates.variants(name), campaign.default_language or "en"}
        return lambda lang: lang in variants[reminder]

    out = []
    for row in rows:
        stored = list(row.checks or [])
        fallbacks = [f for f in stored if f.get("code") == "fallback"]
        findings = [
            *fallbacks,
            *letter_findings(
                language=row.language,
                subject=row.subject,
                body=row.body,
                dated=row.dated,
                to_address=row.to_address,
                # (the reference, "tp/2012/004", is in Latin letters in any letter)
                names=[
                    row.org_name,
                    row.acronym,
                    row.contact_name,
                    row.email,
                    row.reference,
                    *sender,
                ],
                dates=dates,
                reminder=row.round != 0,
                contact_language=row.contact_language,
                org_languages=list(row.languages or []),
                has_variant=has_variant(False),
            ),
        ]
        if row.id in stale:
            findings.append(_finding("stale", ERROR, stale[row.id]))
        out.append(
            LetterCheck(
                letter_id=row.id,
                acronym=row.acronym,
                contact=row.contact_name,
                language=row.language,
                status=getattr(row.status, "value", str(row.status)),
                findings=findings,
                override=row.check_override,
            )
        )
    return out


def checker(renderer: Any, campaign: Any) -> Callable[[Any, Any], list[Finding]]:
    """``check(job, doc) -> findings`` for the letters *renderer* makes for
    *campaign*, at generation: what the renderer knows (the fallbacks, the
    template's variants, the job's contact and organization)."""
    dates = campaign_dates(campaign.variables, renderer.base.get("dialogue"))
    sender = sender_names(campaign.sender, campaign.signatory)
    exists = renderer.set.exists
    name = renderer.name

    def has_variant(lang: str) -> bool:
        return lang == renderer.default or exists(renderer.set.filename(name, lang))

    def check(job: Any, doc: Any) -> list[Finding]:
        contact = job.contact or {}
        names = [doc.organization, doc.acronym, job.org.get("name"), doc.contact, doc.reference]
        return letter_findings(
            language=doc.language,
            subject=doc.subject,
            body=doc.body,
            dated=doc.date,
            to_address=doc.to_address,
            names=[*names, contact.get("email"), *sender],
            dates=dates,
            fallbacks=doc.fallbacks,
            reminder=job.round != 0,
            contact_language=contact.get("language"),
            org_languages=list(job.org.get("languages") or []),
            has_variant=has_variant,
        )

    return check


def count(findings: Iterable[Mapping[str, str]]) -> tuple[int, int]:
    """(errors, warnings) among *findings*."""
    errors = warnings = 0
    for f in findings:
        if f.get("severity") == ERROR:
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def check_campaign_named(conn: sa.Connection, ref: str | int) -> tuple[str, list[LetterCheck]]:
    """(the campaign's slug, :func:`check_campaign` of it), *ref* an id or slug."""
    from outreach.campaigns.lookup import find_campaign_row

    campaign = find_campaign_row(conn, ref)
    return campaign.slug, check_campaign(conn, campaign)
