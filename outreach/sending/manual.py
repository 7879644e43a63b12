"""Letters delivered another way than e-mail: by post, fax or by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.db.activity import record_activity
from outreach.directory.lookup import no_organization
from outreach.directory.records import org_by_acronym
from outreach.errors import ConflictError, NotFoundError, ValidationError
from outreach.schema.models import (
    Channel,
    Letter,
    LetterStatus,
)
from outreach.schema.types import utcnow
from outreach.sending.ledger import _select_letters, _wrong_status

#: Channels a letter can be marked as delivered through by hand.
MANUAL_CHANNELS = (Channel.POST, Channel.FAX, Channel.HAND)


def mark_sent(
    session: Session,
    *,
    channel: Channel | str,
    on: dt.date | dt.datetime | None = None,
    letter_ids: Sequence[int] | None = None,
    campaign_id: int | None = None,
    organization_ids: Sequence[int] | None = None,
    change_channel: bool = False,
    on_change: Callable[[Letter, Channel], None] | None = None,
) -> list[Letter]:
    """Record letters delivered by post, fax or by hand as sent on *on*.

    A letter named (by id or organization) that was made for another channel
    is refused unless *change_channel* says it really went by *channel*;
    *on_change* is then told of each (the letter, its former channel).

    Approved (or failed) letters only; drafts must be approved first and
    letters in ``sending`` confirmed. With filters and no ids, the approved
    and failed letters that match are marked, and letters already sent are
    left alone. Campaign-wide (no ids, no organizations), only letters made
    for *channel* are marked.
    """
    channel = Channel(channel)
    if channel not in MANUAL_CHANNELS:
        raise ValidationError(
            f"{channel.value!r}: mark-sent is for post, fax or hand; e-mail letters are sent",
            field="channel",
            hint="letters send",
        )
    if on is None:
        sent_at = utcnow()
    elif isinstance(on, dt.datetime):
        if on.tzinfo is None:
            raise ValidationError("give the date and time with a time zone")
        sent_at = on
    else:
        # Noon UTC: the same calendar day wherever the coordinator reads it.
        sent_at = dt.datetime(on.year, on.month, on.day, 12, tzinfo=dt.UTC)
    if sent_at > utcnow() + dt.timedelta(days=1):
        raise ValidationError(f"{sent_at.date()} is in the future", field="on")
    letters = _select_letters(
        session,
        letter_ids=letter_ids,
        campaign_id=campaign_id,
        organization_ids=organization_ids,
    )
    allowed = (LetterStatus.APPROVED, LetterStatus.FAILED)
    if letter_ids:
        _wrong_status(letters, allowed, "marked sent")
    else:
        drafts = [letter for letter in letters if letter.status == LetterStatus.DRAFT]
        if drafts:
            raise ValidationError(
                "some letters are still drafts: approve them first; nothing was changed",
                [f"letter {letter.id}: draft" for letter in drafts],
            )
        letters = [letter for letter in letters if letter.status in allowed]
        if not organization_ids:
            # Campaign-wide, only letters made for this channel: an e-mail
            # letter marked "sent by post" would silently never be e-mailed.
            # Name the organization (or the letter) to change a channel.
            letters = [letter for letter in letters if letter.channel == channel]
    other = [letter for letter in letters if letter.channel != channel]
    if other and not change_channel:
        raise ValidationError(
            f"{len(other)} letter(s) were made for another channel; nothing was changed "
            f"(say so to record them as delivered by {channel.value})",
            [f"letter {letter.id}: made for {letter.channel.value}" for letter in other],
            option="change_channel",
        )
    for letter in letters:
        if letter.channel != channel and on_change is not None:
            on_change(letter, letter.channel)
        changes = {
            "status": [letter.status.value, "sent"],
            "channel": [letter.channel.value, channel.value],
        }
        letter.status = LetterStatus.SENT
        letter.channel = channel
        letter.sent_at = sent_at
        letter.error = None
        record_activity(
            session,
            action="mark-sent",
            entity="letter",
            entity_id=letter.id,
            organization_id=letter.organization_id,
            summary=f"delivered by {channel.value} on {sent_at.date().isoformat()}",
            changes=changes,
        )
    session.flush()
    return letters


def organization_ids(session: Session, acronyms: Sequence[str]) -> list[int]:
    """The ids of the organizations with these acronyms (any case), for
    :func:`mark_sent`'s *organization_ids*."""
    ids = []
    for acronym in acronyms:
        org = org_by_acronym(session, acronym)
        if org is None:
            raise no_organization(session, [acronym])
        ids.append(org.id)
    return ids


@dataclass(frozen=True)
class ChannelChange:
    old_id: int
    letter: Letter
    summary: str


#: Letters whose channel may still change (a new version is made).
_CHANGEABLE = (LetterStatus.DRAFT, LetterStatus.APPROVED, LetterStatus.FAILED)
#: The columns a new version copies from the one it replaces.
_COPIED = (
    "campaign_id",
    "organization_id",
    "contact_id",
    "round",
    "followup_of_id",
    "language",
    "subject",
    "body",
    "template_name",
    "template_hash",
    "dated",
    "basis",
    "cc",
    "checks",
    # the same letter by another channel: it keeps its reference
    "reference",
)


def set_channel(session: Session, letter_id: int, channel: Channel | str) -> ChannelChange:
    """Make a new version of an unsent letter that goes by *channel*, to the
    contact's address for it; the old version is superseded. The new one is a
    draft with a new Message-ID: approve it again."""
    from outreach.letters.jobs import NO_ADDRESS, channel_address
    from outreach.letters.renderer import message_id

    try:
        channel = Channel(channel)
    except ValueError:
        raise ValidationError(
            f"channel {channel!r}: use one of {', '.join(c.value for c in Channel)}",
            field="channel",
        ) from None
    old = session.get(Letter, letter_id)
    if old is None:
        raise NotFoundError(f"no letter {letter_id}", hint="letters list")
    if old.superseded_at is not None:
        raise ConflictError(f"letter {letter_id} is superseded: change its current version")
    if old.status not in _CHANGEABLE:
        raise ConflictError(
            f"letter {letter_id} is {old.status.value}: only unsent letters change channel"
        )
    if old.channel == channel:
        raise ConflictError(f"letter {letter_id} already goes by {channel.value}: nothing changed")
    contact = old.contact
    usable, address = channel_address(
        channel,
        {"email": contact.email, "postal_address": contact.postal_address, "phone": contact.phone},
    )
    if not usable:
        raise ValidationError(
            f"letter {letter_id}: {contact.name} has {NO_ADDRESS.get(channel, 'no address')}",
            field="channel",
            hint=f"contacts edit {contact.id}",
        )
    now = utcnow()
    version = (
        session.scalar(
            sa.select(sa.func.max(Letter.version)).where(
                Letter.campaign_id == old.campaign_id,
                Letter.contact_id == old.contact_id,
                Letter.round == old.round,
            )
        )
        or old.version
    ) + 1
    new = Letter(
        **{name: getattr(old, name) for name in _COPIED},
        version=version,
        status=LetterStatus.DRAFT,
        channel=channel,
        to_address=address,
        message_id=message_id(old.campaign),
    )
    old.superseded_at = now
    session.add(new)
    session.flush()
    summary = (
        f"letter {old.id} ({old.channel.value}, {old.status.value}) now goes by "
        f"{channel.value}: new version {new.version} is letter {new.id}, a draft to approve"
    )
    record_activity(
        session,
        action="set-channel",
        entity="letter",
        entity_id=new.id,
        organization_id=new.organization_id,
        summary=summary,
        changes={"channel": [old.channel.value, channel.value], "replaces": [None, old.id]},
    )
    return ChannelChange(old_id=old.id, letter=new, summary=summary)
