"""Issue 13: several addressees and copies per organization, organs as a
filter, and a channel per recipient (generate --channel filters, never converts)."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from outreach.db import Database
from outreach.schema.enums import Channel, LetterStatus
from outreach.schema.models import Campaign, Contact, Dialogue, Letter, Organization

from .._letters_fixtures import seed

TEMPLATE = (
    '{% extends "letterhead.md.j2" %}\n{% block subject %}Hello{% endblock %}\n'
    "{% block body %}\nDear {{ contact.name }},\n\n"
    "{% if cc %}cc: {% for c in cc %}{{ c.name }} ({{ c.position }})"
    "{% if not loop.last %}, {% endif %}{% endfor %}{% endif %}\n{% endblock %}\n"
)


def _setup(db: Database, tmp_path) -> str:
    """The seeded campaign, with dates ahead (nothing for the check to flag)
    and a template that prints the cc line; returns the templates folder."""
    seed(db)
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "cc.md.j2").write_text(TEMPLATE, encoding="utf-8")
    with db.session() as s:
        camp = s.scalar(sa.select(Campaign).where(Campaign.slug == "tp"))
        camp.template = "cc"
        camp.templates_folder = str(folder)
        camp.variables = {"reply_by": "2099-06-15"}
        s.scalar(sa.select(Dialogue)).date = dt.date(2099, 9, 5)
    return str(folder)


def _contact(db: Database, acronym: str, name: str, **values) -> int:
    with db.session() as s:
        org = s.scalar(sa.select(Organization).where(Organization.acronym_key == acronym.lower()))
        contact = Contact(organization_id=org.id, name=name, **values)
        s.add(contact)
        s.flush()
        return contact.id


def _letters(db: Database, acronym: str) -> list[Letter]:
    with db.session() as s:
        rows = s.scalars(
            sa.select(Letter)
            .join(Organization)
            .where(Organization.acronym_key == acronym.lower(), Letter.superseded_at.is_(None))
            .order_by(Letter.contact_id, Letter.round)
        ).all()
        s.expunge_all()
        return list(rows)


def test_each_addressee_gets_a_letter_and_every_letter_names_the_copies(db, run, tmp_path):
    folder = _setup(db, tmp_path)
    deputy = _contact(db, "AU", "Deputy Chairperson", email="deputy@au.example", position="Deputy")
    legal = _contact(db, "AU", "Legal Counsel", email="legal@au.example", position="Counsel")
    out = run("campaigns", "add-recipients", "tp", "AU", "--contact", str(deputy)).stdout
    assert "Added 1: AU: Deputy Chairperson" in out
    out = run("campaigns", "add-recipients", "tp", "AU", "--cc", "legal@au.example").stdout
    assert "Added 1: AU: Legal Counsel (cc)" in out
    again = run("campaigns", "add-recipients", "tp", "AU", "--contact", str(deputy)).stdout
    assert "Added 0" in again and "Already recipients: AU: Deputy Chairperson" in again
    listed = json.loads(run("campaigns", "recipients", "tp", "--format", "json").stdout)
    au = [(r["role"], r["contact"]) for r in listed if r["acronym"] == "AU"]
    assert au == [
        ("cc", "Legal Counsel"),
        ("to", "Secretary-General of AU (primary)"),
        ("to", "Deputy Chairperson"),
    ]
    result = run("letters", "generate", "--campaign", "tp", "--templates", folder)
    assert "6 new letters" in result.stdout  # 5 organizations, AU twice
    letters = _letters(db, "AU")
    assert [x.to_address for x in letters] == ["sg@au.example", "deputy@au.example"]
    for letter in letters:
        assert letter.cc == [
            {
                "contact_id": legal,
                "name": "Legal Counsel",
                "email": "legal@au.example",
                "position": "Counsel",
            }
        ]
        assert "cc: Legal Counsel (Counsel)" in letter.body
    assert _letters(db, "OAS")[0].cc is None
    # Removing the copied contact: both AU letters get a version without cc.
    out = run("campaigns", "remove-recipients", "tp", "--contact", str(legal)).stdout
    assert "Removed 1: AU: Legal Counsel (cc)" in out
    result = run("letters", "generate", "--campaign", "tp", "--templates", folder)
    assert "0 new letters, 2 new versions, 4 unchanged" in result.stdout
    assert all(not x.cc and "cc:" not in x.body for x in _letters(db, "AU"))
    # --replace: the deputy alone is written to.
    out = run(
        "campaigns", "add-recipients", "tp", "AU", "--contact", str(deputy), "--replace"
    ).stdout
    assert "Replaced (removed): AU" in out
    result = run("letters", "generate", "--campaign", "tp", "--templates", folder)
    assert "superseded" in result.stdout
    assert [x.to_address for x in _letters(db, "AU")] == ["deputy@au.example"]


def test_organs_are_a_filter_of_add_recipients(db, run):
    seed(db)
    with db.session() as s:
        oas = s.scalar(sa.select(Organization).where(Organization.acronym_key == "oas"))
        organs = (("IACHR", "Inter-American Commission"), ("IACtHR", "Inter-American Court"))
        for acr, name in organs:
            s.add(
                Organization(
                    acronym=acr, name=name, kind="regional", region="americas", parent_id=oas.id
                )
            )
    run("campaigns", "create", "organs", "--title", "Organs", "--template", "third-pillar")
    out = run("campaigns", "add-recipients", "organs", "--parent", "OAS").stdout
    assert "Added 2: IACHR, IACtHR" in out
    listed = json.loads(run("campaigns", "recipients", "organs", "--format", "json").stdout)
    assert [(r["acronym"], r["parent"]) for r in listed] == [("IACHR", "OAS"), ("IACtHR", "OAS")]
    run("campaigns", "create", "both", "--title", "Both", "--template", "third-pillar")
    out = run("campaigns", "add-recipients", "both", "OAS", "--with-organs").stdout
    assert "Added 3: IACHR, IACtHR, OAS" in out
    again = run("campaigns", "add-recipients", "both", "--parent", "OAS").stdout
    assert "Added 0" in again and "Already recipients: IACHR, IACtHR" in again


def test_each_letter_goes_by_its_recipients_channel(db, run, tmp_path):
    folder = _setup(db, tmp_path)
    with db.session() as s:
        by_acr = {
            c.organization.acronym: c for c in s.scalars(sa.select(Contact)).all()
        }
        by_acr["LAS"].email = None
        by_acr["LAS"].postal_address = "Tahrir Square, Cairo"
        by_acr["GCC"].preferred_channel = Channel.FAX
        by_acr["GCC"].phone = "+966 11 000 0000"
        by_acr["OAS"].email = None  # neither e-mail nor postal address
    result = run("letters", "generate", "--campaign", "tp", "--templates", folder)
    assert "4 new letters" in result.stdout and "1 skipped" in result.stdout
    assert "skipped OAS (Secretary-General of OAS): no e-mail or postal address" in result.stdout
    assert "skipped LAS" not in result.stdout
    (las,) = _letters(db, "LAS")
    assert (las.channel, las.to_address) == (Channel.POST, "Tahrir Square, Cairo")
    assert _letters(db, "GCC")[0].channel == Channel.FAX
    assert _letters(db, "AU")[0].channel == Channel.EMAIL
    before = {x.id: x.message_id for acr in ("AU", "ECOWAS") for x in _letters(db, acr)}
    # --channel filters: the e-mail letters are left as they were.
    post = run("letters", "generate", "--campaign", "tp", "--templates", folder, "--channel=post")
    assert "0 new letters, 0 new versions, 1 unchanged" in post.stdout
    assert "3 by another channel (left alone)" in post.stdout
    after = {x.id: x.message_id for acr in ("AU", "ECOWAS") for x in _letters(db, acr)}
    assert after == before and _letters(db, "AU")[0].channel == Channel.EMAIL
    # --org limits the run.
    only = run("letters", "generate", "--campaign", "tp", "--templates", folder, "--org", "las")
    assert "0 new letters, 0 new versions, 1 unchanged" in only.stdout
    # Changing a letter's channel is explicit: a new version, and said.
    au = _letters(db, "AU")[0]
    refused = run("letters", "set-channel", str(au.id), "post", expect=1)
    assert "no postal address" in refused.stderr
    changed = run("letters", "set-channel", str(au.id), "hand").stdout
    assert f"letter {au.id} (email, draft) now goes by hand: new version 2" in changed
    (au2,) = _letters(db, "AU")
    assert (au2.channel, au2.version, au2.status) == (Channel.HAND, 2, LetterStatus.DRAFT)
    assert au2.message_id != au.message_id and au2.body == au.body
    # Post letters flow through approve and mark-sent like e-mail ones.
    run("letters", "approve", "--campaign", "tp", "--all")
    marked = run("letters", "mark-sent", "--campaign", "tp", "--channel", "post")
    assert "Marked 1 letter(s) as sent by post" in marked.stdout
    assert _letters(db, "LAS")[0].status == LetterStatus.SENT
    assert _letters(db, "ECOWAS")[0].status == LetterStatus.APPROVED
    # ... and get their reminder by post.
    with db.session() as s:
        s.get(Letter, las.id).sent_at = dt.datetime(2012, 1, 1, tzinfo=dt.UTC)
    (tmp_path / "tpl" / "cc-reminder.md.j2").write_text(TEMPLATE, encoding="utf-8")
    with db.session() as s:
        s.scalar(sa.select(Campaign)).followup_template = "cc-reminder"
    reminders = run(
        "letters", "generate", "--campaign", "tp", "--templates", folder, "--followup",
        "--org", "LAS",
    )
    assert "1 new reminders" in reminders.stdout
    reminder = next(x for x in _letters(db, "LAS") if x.round == 1)
    assert (reminder.channel, reminder.to_address) == (Channel.POST, "Tahrir Square, Cairo")
