"""One current letter per organization and round (issue 11, point 4).

When the contact an organization is written to changes (a new primary contact
by `contacts add/edit --primary` or by an import, the old one archived or
forgotten, the campaign naming another contact), generating again must leave
ONE current letter of each round for that organization: the former contact's
unsent letter is superseded, a letter already sent to them is reported rather
than doubled, and `letters send` never sends two letters of one round to one
organization unless the campaign names the second contact itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.db import Database
from outreach.schema.models import (
    Activity,
    CampaignRecipient,
    Channel,
    Contact,
    Letter,
    LetterStatus,
    Organization,
)
from outreach.schema.types import utcnow

from .._letters_fixtures import seed
from ..mailfixtures import SmtpServer, smtp_server

ORGS = 5  # in the seeded campaign "tp"
OLD = "sg@au.example"
NEW = "deputy@au.example"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


def current(db: Database, round_: int = 0) -> list[tuple[str, str, LetterStatus, int]]:
    """The current letters of *round_*: (acronym, contact e-mail, status, version)."""
    with db.session() as s:
        return [
            (acr, email, status, version)
            for acr, email, status, version in s.execute(
                sa.select(Organization.acronym, Contact.email, Letter.status, Letter.version)
                .join(Organization, Letter.organization_id == Organization.id)
                .join(Contact, Letter.contact_id == Contact.id)
                .where(Letter.superseded_at.is_(None), Letter.round == round_)
                .order_by(Letter.id)
            )
        ]


def live(db: Database, round_: int = 0) -> Counter[str]:
    """Current letters of *round_* that may still go (or went) out, per organization."""
    return Counter(acr for acr, _e, status, _v in current(db, round_) if status != "cancelled")


def send(run, smtp: SmtpServer, *extra: str):
    return run("letters", "send", "--campaign", "tp", "--send", *extra, *smtp.argv())


def delivered(smtp: SmtpServer) -> list[str]:
    return [addr for r in smtp.recorder.received for addr in r.rcpt_tos]


def listed(run, *args: str) -> list[dict]:
    out = run("letters", "list", "--campaign", "tp", "--format", "json", *args)
    return json.loads(out.stdout)


# --- the primary contact changes before anything was sent ------------------------


def test_new_primary_by_add_supersedes_the_old_approved_letter(db, run, smtp) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    run("letters", "approve", "--campaign", "tp", "--all")  # approved but unsent
    old_id = _au(db)[0].id
    run("contacts", "add", "AU", "Deputy Chairperson", "--email", NEW, "--primary")
    result = run("letters", "generate", "--campaign", "tp")
    # Before: AU got a second current letter beside the approved one, and
    # `send` delivered both (two letters of one round to the African Union).
    assert "1 new letters" in result.stdout
    assert f"AU: letter {old_id} to Secretary-General of AU (approved) superseded" in result.stdout
    assert live(db) == Counter({"AU": 1, "ECOWAS": 1, "LAS": 1, "OAS": 1, "GCC": 1})
    assert ("AU", NEW, LetterStatus.DRAFT, 1) in current(db)
    # `letters list` shows only the new one; with --all, the old one as superseded.
    au_rows = [r for r in listed(run) if r["org"] == "AU"]
    assert [(r["contact"], r["superseded"]) for r in au_rows] == [("Deputy Chairperson", False)]
    au_all = [r for r in listed(run, "--superseded") if r["org"] == "AU"]
    assert sorted((r["contact"], r["status"], r["superseded"]) for r in au_all) == [
        ("Deputy Chairperson", "draft", False),
        ("Secretary-General of AU", "approved", True),
    ]
    assert old_id in {r["id"] for r in au_all}
    with db.session() as s:
        logged = s.execute(
            sa.select(Activity.action, Activity.organization_id, Activity.summary).where(
                Activity.entity == "letter", Activity.entity_id == old_id
            )
        ).all()
    assert any(a == "supersede" and "Deputy Chairperson" in summary for a, _o, summary in logged)
    # The superseded letter cannot be approved again, and sending goes once per org.
    refused = run("letters", "approve", old_id, expect=1)
    assert "superseded" in refused.stderr
    run("letters", "approve", "--campaign", "tp", "--all")
    out = send(run, smtp)
    assert f"Sent {ORGS} letter(s)" in out.stdout
    rcpts = delivered(smtp)
    assert len(rcpts) == ORGS and NEW in rcpts and OLD not in rcpts
    # Generating again changes nothing.
    again = run("letters", "generate", "--campaign", "tp")
    assert "0 new letters, 0 new versions" in again.stdout and "superseded" not in again.stdout


def test_new_primary_by_edit(db, run, smtp) -> None:
    seed(db)
    run("contacts", "add", "AU", "Deputy Chairperson", "--email", NEW)  # not primary
    run("letters", "generate", "--campaign", "tp")
    assert ("AU", OLD, LetterStatus.DRAFT, 1) in current(db)
    run("contacts", "edit", NEW, "--primary")
    run("letters", "generate", "--campaign", "tp")
    assert live(db)["AU"] == 1 and ("AU", NEW, LetterStatus.DRAFT, 1) in current(db)
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    rcpts = delivered(smtp)
    assert len(rcpts) == ORGS and rcpts.count(NEW) == 1 and OLD not in rcpts


def test_new_primary_by_import(db, run, smtp, tmp_path: Path) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    csv_file = tmp_path / "contacts.csv"
    csv_file.write_text(
        f"organization,name,email,primary\nAU,Deputy Chairperson,{NEW},yes\n", encoding="utf-8"
    )
    run("contacts", "import", str(csv_file))
    with db.session() as s:
        primaries = s.scalars(
            sa.select(Contact.email).where(
                Contact.is_primary.is_(True), Contact.email.like("%au.example")
            )
        ).all()
    assert primaries == [NEW]
    result = run("letters", "generate", "--campaign", "tp")
    assert "superseded" in result.stdout
    assert live(db)["AU"] == 1 and ("AU", NEW, LetterStatus.DRAFT, 1) in current(db)
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    assert Counter(delivered(smtp)) == Counter(
        [NEW, "sg@ecowas.example", "sg@las.example", "sg@oas.example", "sg@gcc.example"]
    )


def test_primary_changed_twice_then_back_leaves_one_letter(db, run, smtp) -> None:
    seed(db)
    run("contacts", "add", "AU", "Deputy Chairperson", "--email", NEW)
    run("contacts", "add", "AU", "Legal Counsel", "--email", "legal@au.example")
    run("letters", "generate", "--campaign", "tp")
    for email in (NEW, "legal@au.example", OLD):  # ... and back to the first one
        run("contacts", "edit", email, "--primary")
        run("letters", "generate", "--campaign", "tp")
        au = [c for c in current(db) if c[0] == "AU"]
        assert [(e, s) for _a, e, s, _v in au] == [(email, LetterStatus.DRAFT)]
    # The original contact's letter came back as a new version, not resurrected.
    assert [(row.contact.email, row.version, row.superseded_at is not None) for row in _au(db)] == [
        (OLD, 1, True),
        (NEW, 1, True),
        ("legal@au.example", 1, True),
        (OLD, 2, False),
    ]
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    rcpts = delivered(smtp)
    assert len(rcpts) == ORGS and rcpts.count(OLD) == 1


def _au(db: Database) -> list[Letter]:
    with db.session() as s:
        rows = list(
            s.scalars(
                sa.select(Letter)
                .join(Organization, Letter.organization_id == Organization.id)
                .where(Organization.acronym_key == "au")
                .order_by(Letter.id)
            )
        )
        for row in rows:
            _ = row.contact.email
        return rows


def test_former_contact_archived_or_forgotten(db, run, smtp) -> None:
    seed(db)
    run("contacts", "add", "AU", "Deputy Chairperson", "--email", NEW)
    run("letters", "generate", "--campaign", "tp")
    run("letters", "approve", "--campaign", "tp", "--all")
    # AU's primary leaves (archived: letters point at them); LAS's asks to be forgotten.
    run("contacts", "remove", OLD, "--force", "--yes")
    run("contacts", "forget", "sg@las.example", "--yes")
    # OAS's only contact is archived: no one left to write to.
    run("contacts", "remove", "sg@oas.example", "--force", "--yes")
    result = run("letters", "generate", "--campaign", "tp")
    assert "skipped LAS" in result.stdout and "skipped OAS" in result.stdout
    au = [c for c in current(db) if c[0] == "AU"]
    assert [(e, s) for _a, e, s, _v in au] == [(NEW, LetterStatus.DRAFT)]
    # The letters to the departed contacts are no longer current.
    assert live(db)["OAS"] == 0 and live(db)["LAS"] == 0
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    assert Counter(delivered(smtp)) == Counter([NEW, "sg@ecowas.example", "sg@gcc.example"])


# --- the letter already went to the former contact --------------------------------


def test_letter_already_sent_to_the_former_primary_is_reported_not_doubled(db, run, smtp):
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    assert smtp.recorder.count() == ORGS
    run("contacts", "add", "AU", "Deputy Chairperson", "--email", NEW, "--primary")
    result = run("letters", "generate", "--campaign", "tp")
    # Before: a new draft to the deputy, approved by `approve --all` and sent:
    # the African Union got the letter twice.
    assert "0 new letters" in result.stdout
    assert "skipped AU (Deputy Chairperson): letter" in result.stdout
    assert "already sent to Secretary-General of AU" in result.stdout
    assert "outreach campaigns add-recipients tp AU --contact" in result.stdout
    assert live(db)["AU"] == 1 and ("AU", OLD, LetterStatus.SENT, 1) in current(db)
    run("letters", "approve", "--campaign", "tp", "--all")
    again = send(run, smtp)
    assert "Sent 0 letter(s)" in again.stdout and smtp.recorder.count() == ORGS
    # Naming the deputy as the campaign's recipient writes to them as well.
    run("campaigns", "add-recipients", "tp", "AU", "--contact", NEW)
    named = run("letters", "generate", "--campaign", "tp")
    assert "1 new letters" in named.stdout
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    assert delivered(smtp)[ORGS:] == [NEW]
    assert delivered(smtp).count(OLD) == 1


# --- the safety net in `letters send` ---------------------------------------------


def _second_letter(db: Database, *, to: str, status: LetterStatus, round_: int = 0) -> int:
    """What earlier versions left behind: a second current letter of the round
    to another contact of the African Union."""
    with db.session() as s:
        org = s.scalar(sa.select(Organization).where(Organization.acronym_key == "au"))
        contact = s.scalar(sa.select(Contact).where(Contact.email_key == to))
        if contact is None:
            contact = Contact(organization_id=org.id, name="Deputy Chairperson", email=to)
            s.add(contact)
            s.flush()
        first = s.scalar(
            sa.select(Letter).where(Letter.organization_id == org.id, Letter.round == round_)
        )
        letter = Letter(
            campaign_id=first.campaign_id,
            organization_id=org.id,
            contact_id=contact.id,
            round=round_,
            followup_of_id=first.followup_of_id,
            language="en",
            subject="A second letter",
            body="Your Excellency, ...",
            template_name="third-pillar.md.j2",
            template_hash="0" * 64,
            status=status,
            channel=Channel.EMAIL,
            to_address=to,
            message_id=f"<second-{round_}@coalition.example>",
        )
        s.add(letter)
        s.flush()
        return letter.id


def test_send_holds_back_two_unsent_letters_of_one_round(db, run, smtp) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    run("letters", "approve", "--campaign", "tp", "--all")
    second = _second_letter(db, to=NEW, status=LetterStatus.APPROVED)
    first = _au(db)[0].id
    dry = run("letters", "send", "--campaign", "tp", *smtp.argv())
    assert f"{ORGS - 1} letter(s) would be sent" in dry.stdout
    result = send(run, smtp)
    # Before: both went.
    assert f"Sent {ORGS - 1} letter(s)" in result.stdout
    assert OLD not in delivered(smtp) and NEW not in delivered(smtp)
    assert "2 letter(s) not sent: another letter of the same round" in result.stdout
    assert f"letter {first}  AU" in result.stdout and f"letter {second}  AU" in result.stdout
    with db.session() as s:
        assert s.get(Letter, first).status == LetterStatus.APPROVED
        assert s.get(Letter, second).status == LetterStatus.APPROVED
    # Naming one of them instead of the primary contact sends that one only;
    # generating again fixes the other.
    run("campaigns", "add-recipients", "tp", "AU", "--contact", NEW, "--replace")
    send(run, smtp)
    assert delivered(smtp)[ORGS - 1 :] == [NEW]
    generated = run("letters", "generate", "--campaign", "tp")
    assert f"letter {first} to Secretary-General of AU (approved) superseded" in generated.stdout
    assert live(db)["AU"] == 1


def test_send_holds_back_a_second_letter_after_one_went(db, run, smtp) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    second = _second_letter(db, to=NEW, status=LetterStatus.APPROVED)
    result = send(run, smtp)
    assert "Sent 0 letter(s)" in result.stdout and smtp.recorder.count() == ORGS
    assert f"letter {second}  AU" in result.stdout
    # Asked for by id it is still held back: the organization has the letter.
    by_id = send(run, smtp, "--letter", str(second))
    assert "Sent 0 letter(s)" in by_id.stdout and smtp.recorder.count() == ORGS
    # Once the campaign names that contact, it goes.
    run("campaigns", "add-recipients", "tp", "AU", "--contact", NEW)
    send(run, smtp)
    assert delivered(smtp)[ORGS:] == [NEW]


# --- reminders --------------------------------------------------------------------


def _backdate(db: Database, days: int = 20) -> None:
    sent_at = utcnow() - dt.timedelta(days=days)  # one moment: no order from the clock
    with db.session() as s:
        for letter in s.scalars(sa.select(Letter).where(Letter.status == LetterStatus.SENT)):
            letter.sent_at = sent_at


def test_reminder_goes_to_whom_the_letter_went(db, run, smtp) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    _backdate(db)
    run("contacts", "add", "AU", "Deputy Chairperson", "--email", NEW, "--primary")
    result = run("letters", "generate", "--campaign", "tp", "--followup")
    assert f"{ORGS} new reminders" in result.stdout
    assert live(db, 1) == Counter({"AU": 1, "ECOWAS": 1, "LAS": 1, "OAS": 1, "GCC": 1})
    assert ("AU", OLD, LetterStatus.DRAFT, 1) in current(db, 1)
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    reminders = delivered(smtp)[ORGS:]
    assert len(reminders) == ORGS and OLD in reminders and NEW not in reminders


def test_one_reminder_per_organization_even_after_two_letters_went(db, run, smtp) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    # Left by an earlier version: a second round-0 letter to AU, sent too.
    second = _second_letter(db, to=NEW, status=LetterStatus.APPROVED)
    with db.session() as s:
        letter = s.get(Letter, second)
        letter.status, letter.sent_at = LetterStatus.SENT, utcnow()
    _backdate(db)
    result = run("letters", "generate", "--campaign", "tp", "--followup")
    assert f"{ORGS} new reminders" in result.stdout
    assert "skipped AU (Deputy Chairperson): reminder 1 goes to Secretary-General of AU" in (
        result.stdout
    )
    assert live(db, 1)["AU"] == 1
    again = run("letters", "generate", "--campaign", "tp", "--followup")
    assert "0 new reminders" in again.stdout
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    reminders = delivered(smtp)[ORGS:]
    assert len(reminders) == ORGS and reminders.count(OLD) == 1 and NEW not in reminders


# --- the one-primary rule itself ------------------------------------------------------


def _primaries(db: Database) -> Counter[str]:
    with db.session() as s:
        return Counter(
            s.scalars(
                sa.select(Organization.acronym)
                .join(Contact, Contact.organization_id == Organization.id)
                .where(Contact.is_primary.is_(True))
            )
        )


def test_no_path_leaves_two_primary_contacts(db, run, tmp_path: Path) -> None:
    seed(db)
    run("contacts", "add", "AU", "Deputy Chairperson", "--email", NEW, "--primary")
    assert _primaries(db)["AU"] == 1
    run("contacts", "edit", OLD, "--primary")
    assert _primaries(db)["AU"] == 1
    # Two rows of one file both marked primary for one organization.
    csv_file = tmp_path / "two.csv"
    csv_file.write_text(
        "organization,name,email,primary\n"
        "AU,Legal Counsel,legal@au.example,yes\n"
        "AU,Chief of Staff,chief@au.example,yes\n",
        encoding="utf-8",
    )
    run("contacts", "import", str(csv_file))
    assert _primaries(db)["AU"] == 1
    # A primary contact moved into an organization that has one.
    run("contacts", "edit", "sg@las.example", "--org", "AU")
    assert _primaries(db)["AU"] == 1
    # Two organizations merged, each with its primary.
    run("orgs", "merge", "AU", "ECOWAS", "--yes")
    assert _primaries(db)["AU"] == 1
    assert max(_primaries(db).values()) == 1


def test_two_primaries_forced_into_the_database_still_get_one_letter(db, run, smtp) -> None:
    seed(db)
    with db.session() as s:
        au = s.scalar(sa.select(Organization).where(Organization.acronym_key == "au"))
        s.add(Contact(organization_id=au.id, name="Deputy Chairperson", email=NEW, is_primary=True))
    run("letters", "generate", "--campaign", "tp")
    assert live(db)["AU"] == 1
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    assert len(delivered(smtp)) == ORGS


def test_campaign_recipient_rows_add_contacts_and_replace_only_when_asked(db, run) -> None:
    """A later --contact adds an addressee; --replace makes it the only one."""
    seed(db)
    run("contacts", "add", "AU", "Deputy Chairperson", "--email", NEW)
    run("campaigns", "add-recipients", "tp", "AU", "--contact", OLD)
    run("campaigns", "add-recipients", "tp", "AU", "--contact", NEW)

    def named() -> list[str]:
        with db.session() as s:
            return sorted(
                s.scalars(
                    sa.select(Contact.email)
                    .join(CampaignRecipient, CampaignRecipient.contact_id == Contact.id)
                    .join(Organization, CampaignRecipient.organization_id == Organization.id)
                    .where(Organization.acronym_key == "au")
                ).all()
            )

    assert named() == sorted([OLD, NEW])
    out = run("campaigns", "add-recipients", "tp", "AU", "--contact", NEW, "--replace").stdout
    assert "Replaced (removed): AU, AU: Secretary-General of AU" in out
    assert named() == [NEW]


def test_reminder_to_a_contact_archived_since_is_superseded(db, run, smtp) -> None:
    seed(db)
    run("contacts", "add", "AU", "Deputy Chairperson", "--email", NEW)
    run("letters", "generate", "--campaign", "tp")
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    _backdate(db)
    run("letters", "generate", "--campaign", "tp", "--followup")
    run("letters", "approve", "--campaign", "tp", "--all")
    # The person the letter went to leaves before the reminder is sent.
    run("contacts", "remove", OLD, "--force", "--yes")
    result = run("letters", "generate", "--campaign", "tp", "--followup")
    assert "skipped AU (Secretary-General of AU): the contact is archived" in result.stdout
    assert "superseded: Secretary-General of AU is archived or removed" in result.stdout
    assert live(db, 1)["AU"] == 0 and live(db, 1)["LAS"] == 1
    # Before: the approved reminder stayed current and went to the archived contact.
    send(run, smtp)
    reminders = delivered(smtp)[ORGS:]
    assert len(reminders) == ORGS - 1 and OLD not in reminders and NEW not in reminders


def test_contact_moved_to_another_organization(db, run, smtp) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    run("letters", "approve", "--campaign", "tp", "--all")
    # AU's primary contact moves to the LAS and becomes its primary one.
    run("contacts", "add", "AU", "Deputy Chairperson", "--email", NEW)
    run("contacts", "edit", OLD, "--org", "LAS")
    result = run("letters", "generate", "--campaign", "tp")
    assert "superseded" in result.stdout
    assert live(db) == Counter({"AU": 1, "ECOWAS": 1, "LAS": 1, "OAS": 1, "GCC": 1})
    by_org = {acr: email for acr, email, _s, _v in current(db)}
    assert by_org["AU"] == NEW and by_org["LAS"] == OLD
    run("letters", "approve", "--campaign", "tp", "--all")
    send(run, smtp)
    rcpts = delivered(smtp)
    assert len(rcpts) == ORGS and rcpts.count(OLD) == 1 and "sg@las.example" not in rcpts


def test_letters_of_merged_organizations(db, run, smtp) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    run("letters", "approve", "--campaign", "tp", "--all")
    # ECOWAS turns out to be a duplicate of the AU (for the test's sake): its
    # letter moves to the AU, which now has two of round 0.
    run("orgs", "merge", "AU", "ECOWAS", "--yes")
    assert live(db)["AU"] == 2
    # The net in `send`: neither goes while both are current.
    held = send(run, smtp)
    assert "2 letter(s) not sent: another letter of the same round" in held.stdout
    assert OLD not in delivered(smtp) and "sg@ecowas.example" not in delivered(smtp)
    # Generating again keeps the letter to the AU's primary contact.
    run("letters", "generate", "--campaign", "tp")
    assert live(db)["AU"] == 1 and ("AU", OLD, LetterStatus.APPROVED, 1) in current(db)
    send(run, smtp)
    assert delivered(smtp).count(OLD) == 1 and "sg@ecowas.example" not in delivered(smtp)
