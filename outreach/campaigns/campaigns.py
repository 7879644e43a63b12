"""Campaigns: the outreach efforts ahead of a dialogue (create, edit,
activate, close, clone, list, show).

Every function takes an ORM ``session``, flushes when it needs ids and never
commits; every change leaves an activity row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.activation import activate
from outreach.campaigns.dialogues import get_dialogue
from outreach.campaigns.lookup import find_object
from outreach.campaigns.values import (
    apply_changes,
    check_language,
    check_slug,
    check_text,
    check_variables,
    jsonable,
    parse_date,
    plain,
)
from outreach.db.activity import actor_of, record_activity
from outreach.errors import ConflictError, ValidationError
from outreach.schema.enums import CampaignStatus
from outreach.schema.models import Campaign, CampaignRecipient, Dialogue, Letter
from outreach.schema.types import utcnow, variables_for_template

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
    "reference_pattern",
)


def get_campaign(session: Session, ref: str | int) -> Campaign:
    """The campaign *ref* (id or slug) names, or :class:`NotFoundError`
    (the rule of :func:`outreach.campaigns.lookup.find_campaign_row`)."""
    return find_object(session, Campaign, ref, "campaign")


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
        if key == "templates_folder":  # made absolute by templates_folder()
            out[key] = value
            continue
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
            value = _checked_sender(value)
        elif key == "variables":
            value = check_variables(dict(value or {}), source="variables")
        elif key == "reference_pattern":
            from outreach.letters.references import check_pattern

            value = check_pattern(value)
        elif isinstance(value, str):
            value = check_text(value, key) or None
        out[key] = value
    starts, ends = out.get("starts_on"), out.get("ends_on")
    if starts and ends and ends < starts:
        raise ValidationError("ends_on is before starts_on")
    return out


def templates_folder(templates: str | Path) -> str:
    """*templates* as the campaign stores it: an absolute path to a folder
    that exists."""
    path = Path(templates).expanduser()
    if not path.is_dir():
        raise ValidationError(f"template folder {path} does not exist", field="templates")
    return str(path.resolve())


def _check_template(name: str, templates: str | Path | None = None) -> None:
    # Imported here: only a command that names a template loads Jinja2.
    from outreach.templating import TemplateSet

    TemplateSet(templates).check_name(name)


def _new_slug(session: Session, slug: str) -> str:
    """*slug* checked, and free for a new campaign."""
    slug = check_slug(slug, "campaign")
    if session.scalar(sa.select(Campaign.id).where(Campaign.slug == slug)) is not None:
        raise ConflictError(f"campaign {slug!r} exists already: choose another name")
    return slug


def create_campaign(
    session: Session,
    *,
    slug: str,
    title: str,
    template: str | None = None,
    templates: str | Path | None = None,
    **values: Any,
) -> Campaign:
    slug = _new_slug(session, slug)
    clean = _campaign_values(session, {"title": title, "template": template, **values}, templates)
    if templates is not None:
        clean["templates_folder"] = templates_folder(templates)
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


#: What the sender may say in each language (``sender["i18n"][LANG]``).
SENDER_TEXT_KEYS = ("organization", "signatory_title", "address", "place", "name")


def _checked_sender(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """The sender's details cleaned; its text per language checked too."""
    from outreach.directory.codes import parse_language
    from outreach.directory.fields import FieldError

    out: dict[str, Any] = {}
    for key, text in dict(value or {}).items():
        if text in (None, ""):
            continue
        if key != "i18n":
            out[key] = check_text(text, f"sender {key}", multiline=key == "address")
            continue
        if not isinstance(text, Mapping):
            raise ValidationError("sender i18n: give text per language, {LANG: {KEY: TEXT}}")
        texts: dict[str, dict[str, str]] = {}
        for lang, entry in text.items():
            try:
                code = parse_language(lang)
            except FieldError as exc:
                raise ValidationError(f"sender text language {lang!r}: {exc}") from None
            if not isinstance(entry, Mapping):
                raise ValidationError(f"sender i18n {lang}: give {{KEY: TEXT}}")
            for k, v in entry.items():
                if k not in SENDER_TEXT_KEYS:
                    raise ValidationError(
                        f"sender {k} ({lang}): not a sender text; use one of "
                        f"{', '.join(SENDER_TEXT_KEYS)}"
                    )
                if v not in (None, ""):
                    label = f"sender {k} ({code})"
                    texts.setdefault(code, {})[k] = check_text(v, label, multiline=k == "address")
        if texts:
            out["i18n"] = texts
    return out


def merge_sender(sender: Mapping[str, Any] | None, updates: Mapping[str, Any]) -> dict[str, Any]:
    """*sender* with *updates* merged in: an empty value removes a key; the
    text per language (``updates["i18n"] = {"fr": {"organization": ...}}``)
    merges language by language and key by key the same way."""
    out = dict(sender or {})
    for key, value in updates.items():
        if key == "i18n" and isinstance(value, Mapping):
            texts = {lang: dict(entry) for lang, entry in (out.get("i18n") or {}).items()}
            for lang, entry in value.items():
                merged = merge_sender(texts.get(lang), entry)
                if merged:
                    texts[lang] = merged
                else:
                    texts.pop(lang, None)
            if texts:
                out["i18n"] = texts
            else:
                out.pop("i18n", None)
        elif value in (None, ""):
            out.pop(key, None)
        else:
            out[key] = value
    return out


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
        values["sender"] = merge_sender(campaign.sender, sender_updates)
    if variable_updates or unset_variables:
        variables = dict(campaign.variables or {})
        for name in unset_variables:
            if name not in variables:
                raise ValidationError(f"{name}: the campaign has no such variable", field="unset")
            variables.pop(name)
        variables.update(variable_updates or {})
        values["variables"] = variables
    if templates is not None and not str(templates).strip():
        # --templates "": back to the shipped letters only (not the current folder)
        values["templates_folder"] = None
        folder = None
    elif templates is not None:
        values["templates_folder"] = folder = templates_folder(templates)
    else:
        folder = campaign.templates_folder
    clean = _campaign_values(session, values, folder)
    changes = apply_changes(campaign, clean)
    if changes:
        record_activity(
            session,
            action="update",
            entity="campaign",
            entity_id=campaign.id,
            summary=f"campaign {campaign.slug} edited: {', '.join(changes)}",
            changes=jsonable(changes),
        )
    return changes


def activate_campaign(session: Session, campaign: Campaign) -> None:
    """A draft *campaign* becomes active (the rule of
    :func:`outreach.campaigns.activation.activate`, on the session's connection)."""
    session.flush()  # the activity rows already added come first
    if activate(session.connection(), campaign, actor=actor_of(session)):
        session.expire(campaign, ["status", "updated_at"])


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
    slug = _new_slug(session, slug)
    clone = Campaign(
        slug=slug,
        title=(title or source.title).strip(),
        dialogue_id=get_dialogue(session, dialogue).id if dialogue is not None else None,
        template=source.template,
        followup_template=source.followup_template,
        templates_folder=source.templates_folder,
        default_language=source.default_language,
        signatory=source.signatory,
        sender=dict(source.sender or {}),
        variables=dict(source.variables or {}),
        # the pattern, not the numbers: the clone's letters count from 1
        reference_pattern=source.reference_pattern,
    )
    session.add(clone)
    session.flush()
    rows = session.execute(
        sa.select(
            CampaignRecipient.organization_id, CampaignRecipient.contact_id, CampaignRecipient.role
        ).where(CampaignRecipient.campaign_id == source.id)
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
                    "role": r.role,
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


def campaign_summary(
    session: Session, campaign: Campaign, *, structured: bool = False
) -> dict[str, Any]:
    """What ``campaigns show`` prints: one line a field, or with
    *structured* the record with its sender, variables and letter counts as
    mappings (for JSON)."""
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
    if structured:
        return {
            "id": campaign.id,
            "slug": campaign.slug,
            "title": campaign.title,
            "status": plain(campaign.status),
            "dialogue": campaign.dialogue.slug if campaign.dialogue else None,
            "template": campaign.template,
            "followup_template": campaign.followup_template,
            "templates_folder": campaign.templates_folder,
            "default_language": campaign.default_language,
            "signatory": campaign.signatory,
            "sender": dict(sender),
            "variables": variables_for_template(dict(campaign.variables or {})),
            # None: the default pattern
            "reference_pattern": campaign.reference_pattern,
            "references_given": campaign.reference_seq,
            "starts_on": campaign.starts_on,
            "ends_on": campaign.ends_on,
            "recipients": n_recipients,
            "letters": {plain(k): v for k, v in sorted(counts.items())},
            "created_at": campaign.created_at,
            "updated_at": campaign.updated_at,
            "closed_at": campaign.closed_at,
        }
    return {
        "id": campaign.id,
        "slug": campaign.slug,
        "title": campaign.title,
        "status": campaign.status,
        "dialogue": campaign.dialogue.slug if campaign.dialogue else None,
        "template": campaign.template,
        "followup_template": campaign.followup_template,
        "templates_folder": campaign.templates_folder or "(the shipped letters/ only)",
        "default_language": campaign.default_language,
        "signatory": campaign.signatory,
        "sender": ", ".join(f"{k}: {v}" for k, v in sender.items()) or None,
        "variables": ", ".join(f"{k}={_show_var(v)}" for k, v in (campaign.variables or {}).items())
        or None,
        "reference_pattern": _pattern_shown(campaign.reference_pattern),
        "references_given": campaign.reference_seq,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "recipients": n_recipients,
        "letters": ", ".join(f"{plain(k)} {v}" for k, v in sorted(counts.items())) or "none",
        "created_at": campaign.created_at,
        "closed_at": campaign.closed_at,
    }


def _pattern_shown(pattern: str | None) -> str:
    if pattern:
        return pattern
    from outreach.letters.references import DEFAULT_PATTERN

    return f"{DEFAULT_PATTERN} (the default)"


def _show_var(value: Any) -> str:
    value = variables_for_template(value)
    return value.isoformat() if isinstance(value, dt.date) else str(value)
