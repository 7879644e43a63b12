"""Previewing one letter: rendered as generation would, nothing written.

The letter carries the reference it would get if it were generated now: the
one of its current letter (a new version keeps it), else the campaign's next
number, which another letter may still take first
(:func:`outreach.letters.references.next_reference`)."""

from __future__ import annotations

import datetime as dt
import os

import sqlalchemy as sa

from outreach.directory.lookup import find_org_row, no_organization
from outreach.errors import ValidationError
from outreach.letters.jobs import (
    _CONTACT,
    _ORG,
    CONTACT_COLS,
    ORG_COLS,
    Job,
    channel_address,
    choose_contact,
    contact_context,
    load_campaign,
    org_context,
    recipient_jobs,
)
from outreach.letters.references import next_reference
from outreach.letters.renderer import Renderer, message_id
from outreach.render.doc import LetterDoc
from outreach.schema.enums import Channel


def preview(
    conn: sa.Connection,
    *,
    campaign: str | int,
    organization: str,
    language: str | None = None,
    templates: str | os.PathLike[str] | None = None,
    followup: bool = False,
    channel: str | Channel = Channel.EMAIL,
    today: dt.date | None = None,
) -> tuple[LetterDoc, str | None]:
    """Render one letter without writing anything: (letter, warning or None).

    *conn* is a Core connection (:meth:`Database.read`); nothing is written."""
    camp, dialogue = load_campaign(conn, campaign)
    org = find_org_row(conn, organization, _ORG.id)
    if org is None:
        raise no_organization(conn, [organization])
    org_id = org.id
    jobs = recipient_jobs(conn, camp, only_org=org_id)
    warning = None
    if not jobs:
        warning = f"{organization} is not a recipient of {camp.slug}"
        row = conn.execute(sa.select(*ORG_COLS).where(_ORG.id == org_id)).one()
        contacts = conn.execute(
            sa.select(*CONTACT_COLS).where(_CONTACT.organization_id == org_id).order_by(_CONTACT.id)
        ).all()
        chosen, reason = choose_contact(None, contacts)
        jobs = [
            Job(
                org=org_context(row),
                contact=contact_context(chosen) if chosen is not None else None,
                skip=reason,
            )
        ]
    job = jobs[0]
    if job.skip:
        warning = (warning + "; " if warning else "") + f"it would be skipped: {job.skip}"
    if job.contact is None:
        raise ValidationError(f"{organization} has no contact to write to")
    name = camp.template
    if followup:
        name = camp.followup_template
        job.round = 1
        job.followup = {
            "round": 1,
            "original_subject": "(the original letter's subject)",
            "original_sent_at": today or dt.date.today(),
            "last_sent_at": today or dt.date.today(),
            "days_waiting": 14,
        }
    if not name:
        raise ValidationError(
            f"campaign {camp.slug} has no {'follow-up ' if followup else ''}template"
        )
    renderer = Renderer(
        camp,
        name,
        dialogue=dialogue,
        templates=templates if templates is not None else camp.templates_folder,
        today=today or dt.date.today(),
        language=language,
    )
    job.reference = next_reference(
        conn,
        camp,
        job,
        language=renderer.language_for(job),
        year=renderer.base["today"].year,
    )
    compiled, text = renderer.render(job)
    ch = Channel(channel)
    _usable, address = channel_address(ch, job.contact)
    doc = renderer.doc(job, compiled, text, channel=ch, address=address)
    doc.message_id = message_id(camp)
    return doc, warning
