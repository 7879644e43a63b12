"""Dialogues and campaigns: the UN meetings we work toward and the outreach
efforts ahead of them, with their recipients.

Every function takes ``session`` as a keyword argument, flushes when it needs
ids and never commits; every change leaves an :class:`~outreach.models.Activity` row.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.activity import record_activity
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    Contact,
    Dialogue,
    Letter,
    Organization,
    OrgKind,
    Region,
    UNBody,
)
from outreach.safetext import needs_folding, new_lines, one_line, text_problem
from outreach.types import utcnow, variables_for_template

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")
#: Placeholders for a dialogue date that is not known yet.
TBA = frozenset({"tba", "tbd", "to be announced", "unknown", "none", ""})

DIALOGUE_FIELDS = (
    "body",
    "title",
    "theme",
    "date",
    "report_symbol",
    "states_spoke",
    "regional_orgs_spoke",
    "civil_society_spoke",
    "outcome_notes",
)
CAMPAIGN_FIELDS = (
    "title",
    "dialogue",
    "template",
    "followup_template",
    "default_language",
    "signatory",
    "sender",
    "variables",
    "starts_on",
    "ends_on",
)


# --- parsing helpers -----------------------------------------------------------


def check_slug(slug: str, what: str) -> str:
    slug = (slug or "").strip()
    if not _SLUG_RE.match(slug):
        raise ValidationError(
            f"{what} name {slug!r} is not valid: use lower-case letters, digits, '-', '.' "
            "or '_' (e.g. ga-2012)"
        )
    return slug


def parse_date(
    value: str | dt.date | None, field: str, *, allow_tba: bool = False
) -> dt.date | None:
    """A date from ``YYYY-MM-DD`` (or "to be announced" when *allow_tba*)."""
    if value is None or isinstance(value, dt.date):
        return value
    text = value.strip()
    if allow_tba and text.lower() in TBA:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        hint = ' or "tba" if it is not announced yet' if allow_tba else ""
        raise ValidationError(f"{field}: {value!r} is not a date; use YYYY-MM-DD{hint}") from None


def parse_body(value: str | UNBody) -> UNBody:
    try:
        return UNBody(value)
    except ValueError:
        choices = ", ".join(b.value for b in UNBody)
        raise ValidationError(f"body: {value!r} is not one of {choices}") from None


def check_language(value: str, field: str = "language") -> str:
    value = (value or "").strip()
    if not _LANG_RE.match(value):
        raise ValidationError(f"{field}: {value!r} is not a language code (e.g. en, fr, ar)")
    return value


def load_variables(path: str | Path) -> dict[str, Any]:
    """Template variables from a TOML or YAML file (a table of names to values)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such variables file") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            data: Any = tomllib.loads(raw.decode("utf-8"))
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(raw.decode("utf-8"))
        else:
            raise ValidationError(f"{path}: variables file must end in .toml, .yaml or .yml")
    except ValidationError:
        raise
    except Exception as exc:  # tomllib/yaml parse errors
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, RecursionError):
            detail = f"nested more than {MAX_VARIABLE_DEPTH} levels deep"
        raise ValidationError(f"{path}: cannot read variables: {detail}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: variables must be a table of name = value")
    _check_shape(data, str(path))
    return check_variables(data, source=str(path))


#: Template variables nested deeper, or holding more values in all, are
#: refused as read (YAML aliases can make a few lines mean billions of values,
#: or a list that holds itself).
MAX_VARIABLE_DEPTH = 20
MAX_VARIABLE_VALUES = 10_000
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _check_shape(data: Mapping[str, Any], source: str) -> None:
    """Refuse variables that cannot be stored and shown: too deep, too many
    values, numbers out of range, NUL or lone surrogates in text (walked
    without recursion, visiting shared YAML nodes once per use)."""
    stack: list[tuple[Any, str, int]] = [(v, str(k), 1) for k, v in data.items()]
    seen = 0
    while stack:
        value, where, depth = stack.pop()
        seen += 1
        problem = None
        if seen > MAX_VARIABLE_VALUES:
            raise ValidationError(
                f"{source}: more than {MAX_VARIABLE_VALUES} values in all (YAML aliases "
                "repeating lists?); keep template variables small"
            )
        if depth > MAX_VARIABLE_DEPTH:
            problem = f"nested more than {MAX_VARIABLE_DEPTH} levels deep"
        elif isinstance(value, float) and not math.isfinite(value):
            problem = f"{value} is not a number a letter can show; quote it to keep it as text"
        elif isinstance(value, str) and (bad := _UNSTORABLE.search(value)):
            code = ord(bad.group())
            if code == 0:
                what = "a NUL character (0x00)"
            elif 0xDC80 <= code <= 0xDCFF:  # a command-line byte that is not UTF-8
                what = f"the byte 0x{code - 0xDC00:02X}, which is not UTF-8 text"
            else:
                what = f"{ascii(bad.group())[1:-1]}, half of a UTF-16 surrogate pair"
            problem = f"contains {what}; remove it"
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and _UNSTORABLE.search(k):
                    problem = f"key {k!a} contains NUL or a lone surrogate; rename it"
                    break
                stack.append((v, f"{where}.{k}", depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
        if problem is not None:
            raise ValidationError(f"{source}: {ascii(where)[1:-1]}: {problem}")


def parse_set(items: Iterable[str]) -> dict[str, Any]:
    """``--set key=value`` pairs; ``YYYY-MM-DD`` values become dates."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValidationError(f"--set {item!r}: write it as name=value")
        key, value = item.split("=", 1)
        key = key.strip()
        value = value.strip()
        try:
            out[key] = dt.date.fromisoformat(value) if len(value) == 10 else value
        except ValueError:
            out[key] = value
    _check_shape(out, "--set")
    return check_variables(out, source="--set")


_VAR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def check_text(value: Any, field: str, *, multiline: bool = False) -> Any:
    """*value* as it may be stored (stripped; line breaks folded in one-line
    fields), or :class:`ValidationError` naming *field* for control characters,
    bidi overrides or (one-line) e-mail encoded words; non-text passes as it is."""
    if not isinstance(value, str):
        return value
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise ValidationError(f"{field}: {problem}")
    value = value.strip()
    if multiline:
        return new_lines(value)
    return one_line(value) if needs_folding(value) else value


def _check_values(value: Any, field: str) -> None:
    """Every text inside a template variable (lists and tables too; walked
    without recursion, each container once)."""
    stack = [(value, field)]
    seen: set[int] = set()
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            check_text(value, where, multiline=True)
        elif isinstance(value, dict | list | tuple) and id(value) not in seen:
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            fmt = "{}.{}" if isinstance(value, dict) else "{}[{}]"
            stack.extend((v, fmt.format(where, k)) for k, v in items)


def check_variables(data: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    from outreach.templating import RESERVED

    problems = []
    for key in data:
        if not isinstance(key, str) or not _VAR_NAME.match(key):
            problems.append(f"{source}: {key!r} is not a valid variable name (letters, digits, _)")
        elif key in RESERVED:
            problems.append(f"{source}: {key!r} is reserved for the template context")
        else:
            try:
                _check_values(data[key], f"{source}: {key}")
            except ValidationError as exc:
                problems.append(str(exc))
    if problems:
        raise ValidationError("template variables are not valid", problems)
    return {k: _jsonable(v) for k, v in data.items()}


def _jsonable(value: Any) -> Any:
    """Variables are stored as JSON: dates become ISO strings tagged for the round trip."""
    if isinstance(value, dt.datetime):
        return {"$date": value.date().isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.time):
        return value.isoformat()
    return value


# --- dialogues -------------------------------------------------------------------


def get_dialogue(session: Session, ref: str | int) -> Dialogue:
    dialogue = None
    if isinstance(ref, int) or str(ref).isdigit():
        dialogue = session.get(Dialogue, int(ref))
    if dialogue is None:
        dialogue = session.scalar(sa.select(Dialogue).where(Dialogue.slug == str(ref).strip()))
    if dialogue is None:
        raise NotFoundError(f"no dialogue {ref!r}: see `outreach dialogues list`")
    return dialogue


def list_dialogues(session: Session) -> list[Dialogue]:
    return list(
        session.scalars(
            sa.select(Dialogue).order_by(
                Dialogue.date.is_(None), Dialogue.date.desc(), Dialogue.slug
            )
        )
    )


def _dialogue_values(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in DIALOGUE_FIELDS:
            raise ValidationError(f"dialogues have no field {key!r}")
        if key == "body":
            value = parse_body(value)
        elif key == "date":
            value = parse_date(value, "date", allow_tba=True)
        elif key == "title":
            value = check_text(value or "", "title")
            if not value:
                raise ValidationError("title: a dialogue needs a title")
        elif key in ("states_spoke", "regional_orgs_spoke", "civil_society_spoke"):
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValidationError(f"{key}: give a whole number of speakers")
        elif isinstance(value, str):
            value = check_text(value, key, multiline=key == "outcome_notes") or None
        out[key] = value
    return out


def add_dialogue(session: Session, *, slug: str, title: str, **values: Any) -> Dialogue:
    slug = check_slug(slug, "dialogue")
    if session.scalar(sa.select(Dialogue.id).where(Dialogue.slug == slug)) is not None:
        raise ConflictError(f"dialogue {slug!r} exists already: use `outreach dialogues edit`")
    clean = _dialogue_values({"title": title, **values})
    dialogue = Dialogue(slug=slug, **clean)
    session.add(dialogue)
    session.flush()
    record_activity(
        session,
        action="create",
        entity="dialogue",
        entity_id=dialogue.id,
        summary=f"dialogue {slug} added: {dialogue.title}",
    )
    return dialogue


def edit_dialogue(session: Session, ref: str | int, **values: Any) -> dict[str, list[Any]]:
    dialogue = get_dialogue(session, ref)
    clean = _dialogue_values(values)
    changes = _apply(dialogue, clean)
    if changes:
        record_activity(
            session,
            action="update",
            entity="dialogue",
            entity_id=dialogue.id,
            summary=f"dialogue {dialogue.slug} edited: {', '.join(changes)}",
            changes=_jsonable(changes),
        )
    return changes


def _apply(obj: Any, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for key, value in values.items():
        before = getattr(obj, key)
        if before != value:
            setattr(obj, key, value)
            changes[key] = [_plain(before), _plain(value)]
    return changes


def _plain(value: Any) -> Any:
    if hasattr(value, "value") and not isinstance(value, dict):
        return value.value
    return value


# --- campaigns -----------------------------------------------------------------


def get_campaign(session: Session, ref: str | int) -> Campaign:
    campaign = None
    if isinstance(ref, int) or str(ref).isdigit():
        campaign = session.get(Campaign, int(ref))
    if campaign is None:
        campaign = session.scalar(sa.select(Campaign).where(Campaign.slug == str(ref).strip()))
    if campaign is None:
        raise NotFoundError(f"no campaign {ref!r}: see `outreach campaigns list`")
    return campaign


def list_campaigns(session: Session, *, status: str | None = None) -> list[dict[str, Any]]:
    """Campaigns with their dialogue, recipient and letter counts."""
    recipients = (
        sa.select(sa.func.count())
        .where(CampaignRecipient.campaign_id == Campaign.id)
        .scalar_subquery()
    )
    letters = (
        sa.select(sa.func.count())
        .where(Letter.campaign_id == Campaign.id, Letter.superseded_at.is_(None))
        .scalar_subquery()
    )
    stmt = (
        sa.select(Campaign, Dialogue.slug, recipients, letters)
        .outerjoin(Dialogue, Campaign.dialogue_id == Dialogue.id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    if status:
        stmt = stmt.where(Campaign.status == CampaignStatus(status))
    out = []
    for campaign, dialogue_slug, n_recipients, n_letters in session.execute(stmt):
        out.append(
            {
                "id": campaign.id,
                "slug": campaign.slug,
                "title": campaign.title,
                "status": campaign.status,
                "dialogue": dialogue_slug,
                "template": campaign.template,
                "recipients": n_recipients,
                "letters": n_letters,
            }
        )
    return out


def _campaign_values(
    session: Session, values: Mapping[str, Any], templates: str | Path | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in CAMPAIGN_FIELDS:
            raise ValidationError(f"campaigns have no field {key!r}")
        if key == "dialogue":
            out["dialogue_id"] = None if value is None else get_dialogue(session, value).id
            continue
        if key in ("starts_on", "ends_on"):
            value = parse_date(value, key)
        elif key == "default_language":
            value = check_language(value, "language")
        elif key in ("template", "followup_template"):
            value = (value or "").strip() or None
            if value is not None:
                _check_template(value, templates)
        elif key == "title":
            value = check_text(value or "", "title")
            if not value:
                raise ValidationError("title: a campaign needs a title")
        elif key == "sender":
            value = {
                k: check_text(v, f"sender {k}", multiline=k == "address")
                for k, v in dict(value or {}).items()
                if v not in (None, "")
            }
        elif key == "variables":
            value = check_variables(dict(value or {}), source="variables")
        elif isinstance(value, str):
            value = check_text(value, key) or None
        out[key] = value
    starts, ends = out.get("starts_on"), out.get("ends_on")
    if starts and ends and ends < starts:
        raise ValidationError("ends_on is before starts_on")
    return out


def _check_template(name: str, templates: str | Path | None = None) -> None:
    from outreach.templating import TemplateSet

    TemplateSet(templates).check_name(name)


def create_campaign(
    session: Session,
    *,
    slug: str,
    title: str,
    template: str | None = None,
    templates: str | Path | None = None,
    **values: Any,
) -> Campaign:
    slug = check_slug(slug, "campaign")
    if session.scalar(sa.select(Campaign.id).where(Campaign.slug == slug)) is not None:
        raise ConflictError(f"campaign {slug!r} exists already: choose another name")
    clean = _campaign_values(session, {"title": title, "template": template, **values}, templates)
    campaign = Campaign(slug=slug, **clean)
    session.add(campaign)
    session.flush()
    record_activity(
        session,
        action="create",
        entity="campaign",
        entity_id=campaign.id,
        summary=f"campaign {slug} created: {campaign.title}",
    )
    return campaign


def edit_campaign(
    session: Session,
    ref: str | int,
    *,
    sender_updates: Mapping[str, Any] | None = None,
    variable_updates: Mapping[str, Any] | None = None,
    unset_variables: Sequence[str] = (),
    templates: str | Path | None = None,
    **values: Any,
) -> dict[str, list[Any]]:
    """Change a campaign; sender and variable updates merge into what is there."""
    campaign = get_campaign(session, ref)
    if campaign.status == CampaignStatus.CLOSED:
        raise ConflictError(f"campaign {campaign.slug} is closed; clone it to start a new one")
    if sender_updates:
        sender = dict(campaign.sender or {})
        for k, v in sender_updates.items():
            if v in (None, ""):
                sender.pop(k, None)
            else:
                sender[k] = v
        values["sender"] = sender
    if variable_updates or unset_variables:
        variables = dict(campaign.variables or {})
        for name in unset_variables:
            if name not in variables:
                raise ValidationError(f"--unset {name}: the campaign has no such variable")
            variables.pop(name)
        variables.update(variable_updates or {})
        values["variables"] = variables
    clean = _campaign_values(session, values, templates)
    changes = _apply(campaign, clean)
    if changes:
        record_activity(
            session,
            action="update",
            entity="campaign",
            entity_id=campaign.id,
            summary=f"campaign {campaign.slug} edited: {', '.join(changes)}",
            changes=_jsonable(changes),
        )
    return changes


def activate_campaign(session: Session, campaign: Campaign) -> None:
    if campaign.status == CampaignStatus.DRAFT:
        campaign.status = CampaignStatus.ACTIVE
        record_activity(
            session,
            action="update",
            entity="campaign",
            entity_id=campaign.id,
            summary=f"campaign {campaign.slug} is active",
            changes={"status": ["draft", "active"]},
        )


def close_campaign(session: Session, ref: str | int) -> Campaign:
    campaign = get_campaign(session, ref)
    if campaign.status == CampaignStatus.CLOSED:
        raise ConflictError(f"campaign {campaign.slug} is already closed")
    before = campaign.status.value
    campaign.status = CampaignStatus.CLOSED
    campaign.closed_at = utcnow()
    record_activity(
        session,
        action="close",
        entity="campaign",
        entity_id=campaign.id,
        summary=f"campaign {campaign.slug} closed",
        changes={"status": [before, "closed"]},
    )
    return campaign


def clone_campaign(
    session: Session,
    ref: str | int,
    *,
    slug: str,
    title: str | None = None,
    dialogue: str | int | None = None,
) -> Campaign:
    """Start a new campaign from *ref*: same template, signatory, sender,
    variables and recipients; no letters; status draft."""
    source = get_campaign(session, ref)
    slug = check_slug(slug, "campaign")
    if session.scalar(sa.select(Campaign.id).where(Campaign.slug == slug)) is not None:
        raise ConflictError(f"campaign {slug!r} exists already: choose another name")
    clone = Campaign(
        slug=slug,
        title=(title or source.title).strip(),
        dialogue_id=get_dialogue(session, dialogue).id if dialogue is not None else None,
        template=source.template,
        followup_template=source.followup_template,
        default_language=source.default_language,
        signatory=source.signatory,
        sender=dict(source.sender or {}),
        variables=dict(source.variables or {}),
    )
    session.add(clone)
    session.flush()
    rows = session.execute(
        sa.select(CampaignRecipient.organization_id, CampaignRecipient.contact_id).where(
            CampaignRecipient.campaign_id == source.id
        )
    ).all()
    now = utcnow()
    if rows:
        session.execute(
            sa.insert(CampaignRecipient),
            [
                {
                    "campaign_id": clone.id,
                    "organization_id": r.organization_id,
                    "contact_id": r.contact_id,
                    "added_at": now,
                }
                for r in rows
            ],
        )
    record_activity(
        session,
        action="create",
        entity="campaign",
        entity_id=clone.id,
        summary=f"campaign {slug} cloned from {source.slug} with {len(rows)} recipients",
    )
    return clone


def campaign_summary(session: Session, campaign: Campaign) -> dict[str, Any]:
    """What ``campaigns show`` prints."""
    counts = dict(
        session.execute(
            sa.select(Letter.status, sa.func.count())
            .where(Letter.campaign_id == campaign.id, Letter.superseded_at.is_(None))
            .group_by(Letter.status)
        ).all()
    )
    n_recipients = session.scalar(
        sa.select(sa.func.count()).where(CampaignRecipient.campaign_id == campaign.id)
    )
    sender = campaign.sender or {}
    return {
        "id": campaign.id,
        "slug": campaign.slug,
        "title": campaign.title,
        "status": campaign.status,
        "dialogue": campaign.dialogue.slug if campaign.dialogue else None,
        "template": campaign.template,
        "followup_template": campaign.followup_template,
        "default_language": campaign.default_language,
        "signatory": campaign.signatory,
        "sender": ", ".join(f"{k}: {v}" for k, v in sender.items()) or None,
        "variables": ", ".join(f"{k}={_show_var(v)}" for k, v in (campaign.variables or {}).items())
        or None,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "recipients": n_recipients,
        "letters": ", ".join(f"{_plain(k)} {v}" for k, v in sorted(counts.items())) or "none",
        "created_at": campaign.created_at,
        "closed_at": campaign.closed_at,
    }


def _show_var(value: Any) -> str:
    value = variables_for_template(value)
    return value.isoformat() if isinstance(value, dt.date) else str(value)


# --- recipients ----------------------------------------------------------------


@dataclass(frozen=True)
class RecipientChange:
    added: list[str]
    already: list[str]
    removed: list[str]


def _resolve_orgs(
    session: Session,
    *,
    kinds: Sequence[str] = (),
    regions: Sequence[str] = (),
    tags: Sequence[str] = (),
    acronyms: Sequence[str] = (),
) -> list[Organization]:
    problems = []
    kind_values = []
    for k in kinds:
        try:
            kind_values.append(OrgKind(k))
        except ValueError:
            problems.append(f"kind {k!r}: use one of {', '.join(x.value for x in OrgKind)}")
    region_values = []
    for r in regions:
        try:
            region_values.append(Region(r))
        except ValueError:
            problems.append(f"region {r!r}: use one of {', '.join(x.value for x in Region)}")
    if problems:
        raise ValidationError("recipient filters are not valid", problems)
    found: dict[int, Organization] = {}
    if acronyms:
        keys = {a.strip().casefold(): a for a in acronyms if a.strip()}
        orgs = session.scalars(
            sa.select(Organization).where(Organization.acronym_key.in_(list(keys)))
        ).all()
        missing = set(keys) - {o.acronym_key for o in orgs}
        if missing:
            raise NotFoundError(
                "no organization "
                + ", ".join(repr(keys[m]) for m in sorted(missing))
                + ": see `outreach orgs list`"
            )
        for org in orgs:
            found[org.id] = org
    if kinds or regions or tags:
        stmt = sa.select(Organization).where(Organization.archived_at.is_(None))
        if kind_values:
            stmt = stmt.where(Organization.kind.in_(kind_values))
        if region_values:
            stmt = stmt.where(Organization.region.in_(region_values))
        orgs = session.scalars(stmt.order_by(Organization.acronym_key)).all()
        if tags:
            wanted = {t.strip().casefold() for t in tags}
            orgs = [o for o in orgs if wanted & {t.casefold() for t in (o.tags or [])}]
        for org in orgs:
            found.setdefault(org.id, org)
    return sorted(found.values(), key=lambda o: o.acronym_key)


def add_recipients(
    session: Session,
    ref: str | int,
    *,
    kinds: Sequence[str] = (),
    regions: Sequence[str] = (),
    tags: Sequence[str] = (),
    acronyms: Sequence[str] = (),
    contact: str | int | None = None,
) -> RecipientChange:
    """Add organizations chosen by filters (kind, region, tag: all must match)
    and/or by acronym. *contact* (id or e-mail) overrides the organization's
    primary contact, for a single acronym only."""
    campaign = get_campaign(session, ref)
    if campaign.status == CampaignStatus.CLOSED:
        raise ConflictError(f"campaign {campaign.slug} is closed")
    if not (kinds or regions or tags or acronyms):
        raise ValidationError("say which organizations: give acronyms or --kind/--region/--tag")
    orgs = _resolve_orgs(session, kinds=kinds, regions=regions, tags=tags, acronyms=acronyms)
    contact_row = None
    if contact is not None:
        if len(orgs) != 1:
            raise ValidationError("--contact needs exactly one organization")
        contact_row = _find_contact(session, orgs[0], contact)
    existing = {
        r.organization_id: r
        for r in session.scalars(
            sa.select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
        )
    }
    added, already = [], []
    for org in orgs:
        row = existing.get(org.id)
        if row is not None:
            if contact_row is not None and row.contact_id != contact_row.id:
                before = row.contact_id
                row.contact_id = contact_row.id
                record_activity(
                    session,
                    action="update",
                    entity="campaign",
                    entity_id=campaign.id,
                    organization_id=org.id,
                    summary=f"campaign {campaign.slug}: {org.acronym} now written to "
                    f"{contact_row.name}",
                    changes={"contact_id": [before, contact_row.id]},
                )
                added.append(org.acronym)
            else:
                already.append(org.acronym)
            continue
        session.add(
            CampaignRecipient(
                campaign_id=campaign.id,
                organization_id=org.id,
                contact_id=contact_row.id if contact_row is not None else None,
            )
        )
        added.append(org.acronym)
        record_activity(
            session,
            action="add",
            entity="campaign",
            entity_id=campaign.id,
            organization_id=org.id,
            summary=f"{org.acronym} added to campaign {campaign.slug}",
        )
    session.flush()
    return RecipientChange(added=added, already=already, removed=[])


def _find_contact(session: Session, org: Organization, ref: str | int) -> Contact:
    text = str(ref).strip()
    stmt = sa.select(Contact).where(Contact.organization_id == org.id)
    if text.isdigit():
        stmt = stmt.where(Contact.id == int(text))
    else:
        stmt = stmt.where(Contact.email_key == text.casefold())
    found = session.scalar(stmt)
    if found is None:
        raise NotFoundError(f"{org.acronym} has no contact {text!r}: see `outreach contacts list`")
    return found


def remove_recipients(
    session: Session, ref: str | int, *, acronyms: Sequence[str]
) -> RecipientChange:
    campaign = get_campaign(session, ref)
    if campaign.status == CampaignStatus.CLOSED:
        raise ConflictError(f"campaign {campaign.slug} is closed")
    orgs = _resolve_orgs(session, acronyms=acronyms)
    rows = {
        r.organization_id: r
        for r in session.scalars(
            sa.select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
        )
    }
    not_in = [o.acronym for o in orgs if o.id not in rows]
    if not_in:
        raise NotFoundError(
            f"{', '.join(not_in)} not among the recipients of {campaign.slug}: "
            f"see `outreach campaigns recipients {campaign.slug}`"
        )
    removed = []
    for org in orgs:
        session.delete(rows[org.id])
        removed.append(org.acronym)
        record_activity(
            session,
            action="remove",
            entity="campaign",
            entity_id=campaign.id,
            organization_id=org.id,
            summary=f"{org.acronym} removed from campaign {campaign.slug}",
        )
    session.flush()
    return RecipientChange(added=[], already=[], removed=removed)


def list_recipients(session: Session, ref: str | int) -> list[dict[str, Any]]:
    campaign = get_campaign(session, ref)
    rows = session.execute(
        sa.select(
            Organization.acronym,
            Organization.name,
            Organization.kind,
            Organization.region,
            CampaignRecipient.contact_id,
            CampaignRecipient.added_at,
        )
        .join(Organization, CampaignRecipient.organization_id == Organization.id)
        .where(CampaignRecipient.campaign_id == campaign.id)
        .order_by(Organization.acronym_key)
    ).all()
    return [
        {
            "acronym": r.acronym,
            "name": r.name,
            "kind": r.kind,
            "region": r.region,
            "contact_id": r.contact_id,
            "added_at": r.added_at,
        }
        for r in rows
    ]
