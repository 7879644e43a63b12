"""Bugs found by the second reading of the directory, sending and responses
code; each test failed before its fix."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from outreach.directory import (
    add_contact,
    add_organization,
    get_contact,
    get_organization,
    merge_contacts,
    merge_organizations,
)
from outreach.errors import ConflictError
from outreach.schema.models import (
    Campaign,
    CampaignRecipient,
    Contact,
    InboundMessage,
    Letter,
    LetterStatus,
    Response,
)

from .conftest import row_counts, table_dump
from .directory._fixtures import _letter_and_response, directory  # noqa: F401
from .responses._fixtures import SENT_ON, mail, sent_campaign, store_dir, write_mbox  # noqa: F401


def _recipient(db, slug: str, acronym: str, contact_ref=None) -> None:
    with db.session() as s:
        campaign = s.scalar(sa.select(Campaign).where(Campaign.slug == slug))
        if campaign is None:
            campaign = Campaign(slug=slug, title=f"Campaign {slug}")
            s.add(campaign)
            s.flush()
        contact_id = get_contact(s, contact_ref).id if contact_ref else None
        s.add(
            CampaignRecipient(
                campaign_id=campaign.id,
                organization_id=get_organization(s, acronym).id,
                contact_id=contact_id,
            )
        )


def _recipients(db, slug: str) -> list[tuple[str, str | None]]:
    with db.session() as s:
        rows = s.execute(
            sa.select(CampaignRecipient)
            .join(Campaign, CampaignRecipient.campaign_id == Campaign.id)
            .where(Campaign.slug == slug)
        ).scalars()
        return sorted((r.organization.acronym, r.contact.name if r.contact else None) for r in rows)


# --- directory: merge and remove with campaign recipients ----------------------------


def test_merge_organization_that_is_a_campaign_recipient(directory, run):  # noqa: F811
    with directory.session() as s:
        dup = add_organization(session=s, acronym="UA", name="Union africaine")
        add_contact(session=s, organization=dup, name="Bureau du Président", email="p@ua.example")
    _recipient(directory, "ga-2012", "UA", "p@ua.example")
    _recipient(directory, "ga-2013", "UA", "p@ua.example")
    _recipient(directory, "ga-2013", "AU")
    # Before: "FOREIGN KEY constraint failed" and nothing merged.
    out = run("orgs", "merge", "AU", "UA", "--yes").stdout
    assert "Merged UA into AU" in out
    assert _recipients(directory, "ga-2012") == [("AU", "Bureau du Président")]
    # Both were recipients of ga-2013: one row left, with the chosen contact.
    assert _recipients(directory, "ga-2013") == [("AU", "Bureau du Président")]


def test_remove_organization_that_is_a_campaign_recipient(directory, db_url, run):  # noqa: F811
    _recipient(directory, "ga-2012", "GCC")
    before = table_dump(db_url)
    result = run("orgs", "remove", "GCC", "--yes", expect=1)
    assert "recipient of campaign(s) ga-2012" in result.stderr
    assert "remove-recipients ga-2012 GCC" in result.stderr
    assert "FOREIGN KEY" not in result.stderr
    assert table_dump(db_url) == before
    assert "archived" in run("orgs", "remove", "GCC", "--force", "--yes").stdout


def test_merged_organization_keeps_one_primary_contact(directory):  # noqa: F811
    with directory.session() as s:
        dup = add_organization(session=s, acronym="UA", name="Union africaine")
        add_contact(session=s, organization=dup, name="Bureau", is_primary=True)
        au = get_organization(s, "AU")
        office = next(c for c in au.contacts if c.kind.value == "office")
        office_id = office.id
        from outreach.directory.contacts import update_contact

        update_contact(office, session=s, is_primary=True)
    with directory.session() as s:
        merge_organizations(get_organization(s, "AU"), get_organization(s, "UA"), session=s)
    with directory.session() as s:
        primaries = s.scalars(
            sa.select(Contact.id).where(
                Contact.organization_id == get_organization(s, "AU").id,
                Contact.is_primary.is_(True),
            )
        ).all()
        assert primaries == [office_id]


def test_contact_merge_keeps_the_campaigns_chosen_contact(directory):  # noqa: F811
    with directory.session() as s:
        dup = add_contact(session=s, organization="AU", name="A. Diallo")
        dup_id = dup.id
    _recipient(directory, "ga-2012", "AU", dup_id)
    with directory.session() as s:
        merge_contacts(
            get_contact(s, "amina.diallo@example.org"), get_contact(s, dup_id), session=s
        )
    # Before: the choice was blanked, and the letter went to the primary contact.
    assert _recipients(directory, "ga-2012") == [("AU", "Amina Diallo")]


def test_contact_merge_across_organizations_is_refused(directory, db_url):  # noqa: F811
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    with directory.session() as s:
        other = add_contact(session=s, organization="ECOWAS", name="Amina D.")
        other_id = other.id
    before = table_dump(db_url)
    with pytest.raises(ConflictError, match="different organizations"), directory.session() as s:
        merge_contacts(
            get_contact(s, other_id), get_contact(s, "amina.diallo@example.org"), session=s
        )
    assert table_dump(db_url) == before
    with directory.session() as s:
        letter = s.scalar(sa.select(Letter))
        assert letter.contact.organization_id == letter.organization_id


# --- responses: campaign and letter agree; forgetting reaches imported mail ------------


def _second_campaign_letter(db, acronym: str) -> tuple[int, int]:
    """A sent letter to *acronym* in a second campaign, iid-2013: (campaign id, letter id)."""
    with db.session() as s:
        first = s.scalar(
            sa.select(Letter)
            .join(Letter.organization)
            .where(Letter.organization.has(acronym=acronym))
        )
        campaign = Campaign(slug="iid-2013", title="Dialogue 2013")
        s.add(campaign)
        s.flush()
        letter = Letter(
            campaign_id=campaign.id,
            organization_id=first.organization_id,
            contact_id=first.contact_id,
            language=first.language,
            subject=first.subject,
            body=first.body,
            template_name=first.template_name,
            template_hash=first.template_hash,
            status=LetterStatus.SENT,
            to_address=first.to_address,
            sent_at=SENT_ON + dt.timedelta(days=365),
            message_id="<letter-2013@coalition.example>",
        )
        s.add(letter)
        s.flush()
        return campaign.id, letter.id


def test_log_refuses_a_letter_of_another_campaign(db, db_url, run):
    sent_campaign(db)
    _, letter_2013 = _second_campaign_letter(db, "GCC")
    before = row_counts(db_url)
    result = run(
        "responses", "log", "--org", "GCC", "--campaign", "iid-2012",
        "--letter", letter_2013, "--received", "2013-04-01", expect=1,
    )  # fmt: skip
    assert "belongs to campaign iid-2013" in result.stderr
    assert row_counts(db_url) == before


def test_edit_campaign_relinks_the_letter(db, run):
    seeded = sent_campaign(db)
    campaign_2013, letter_2013 = _second_campaign_letter(db, "GCC")
    out = run(
        "responses", "log", "--org", "GCC", "--campaign", "iid-2012",
        "--received", "2012-04-01", "--format", "json",
    ).stdout  # fmt: skip
    response_id = json.loads(out)["id"]
    run("responses", "edit", response_id, "--campaign", "iid-2013", "--received", "2013-04-01")
    with db.session() as s:
        response = s.get(Response, response_id)
        # Before: campaign iid-2013 but still the 2012 letter.
        assert (response.campaign_id, response.letter_id) == (campaign_2013, letter_2013)
    # Naming the letter moves the campaign with it.
    with db.session() as s:
        letter_2012 = s.scalar(
            sa.select(Letter.id).where(
                Letter.campaign_id == seeded["campaign_id"],
                Letter.organization_id == seeded["org_ids"]["GCC"],
            )
        )
    run("responses", "edit", response_id, "--letter", letter_2012)
    with db.session() as s:
        response = s.get(Response, response_id)
        assert (response.campaign_id, response.letter_id) == (seeded["campaign_id"], letter_2012)
    result = run("responses", "edit", response_id, "--received", "2099-01-01", expect=1)
    assert "in the future" in result.stderr


def test_forget_erases_replies_matched_by_thread(db, tmp_path, run):
    seeded = sent_campaign(db)
    mids = seeded["mids"]
    box = write_mbox(
        tmp_path / "in.mbox",
        [
            mail(
                "Amal Haddad <sg@oas.org>",
                "Re: Diálogo",
                "Con gusto. Amal Haddad, sg@oas.org",
                mid="<t1@oas.org>",
                in_reply_to=mids["OAS"],
            ),
            mail(
                "Amal Haddad <sg@oas.org>",
                "Automatic reply: Diálogo",
                "Out of office.",
                mid="<t2@oas.org>",
                headers={"Auto-Submitted": "auto-replied"},
            ),
        ],
    )
    run("responses", "import", box)
    with db.session() as s:
        reply = s.scalar(sa.select(Response).where(Response.message_id == "<t1@oas.org>"))
        # A threaded reply from the contact is linked to the contact.
        assert reply.contact_id is not None
    person = json.loads(run("contacts", "export-person", "sg@oas.org").stdout)
    assert [m["subject"] for m in person["messages"]] == ["Re: Diálogo", "Automatic reply: Diálogo"]
    run("contacts", "forget", "sg@oas.org", "--yes")
    with db.session() as s:
        reply = s.scalar(sa.select(Response).where(Response.message_id == "<t1@oas.org>"))
        assert reply.sender is None and "sg@oas.org" not in (reply.summary or "")
        senders = s.scalars(sa.select(InboundMessage.from_address)).all()
        assert not any(a and "sg@oas.org" in a for a in senders)
    queue = run("responses", "unmatched", "--ignored", "--format", "csv").stdout
    assert "sg@oas.org" not in queue


def test_empty_mailbox_imports_nothing_without_error(db, db_url, tmp_path, run):
    sent_campaign(db)
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"")
    before = row_counts(db_url)
    # Before: "not an e-mail message (.eml), an mbox file or a Maildir folder".
    out = run("responses", "import", empty).stdout
    assert "Read 0 message(s)" in out
    assert row_counts(db_url) == before


def test_unmatched_all_shows_which_were_set_aside(db, tmp_path, run):
    sent_campaign(db)
    box = write_mbox(
        tmp_path / "in.mbox",
        [
            mail("a@stranger.example", "Hello", "?", mid="<x1@stranger.example>"),
            mail("b@stranger.example", "Offer", "!", mid="<x2@stranger.example>"),
        ],
    )
    run("responses", "import", box)
    queue = json.loads(run("responses", "unmatched", "--format", "json").stdout)
    run("responses", "ignore", next(r["msg"] for r in queue if r["subject"] == "Offer"))
    table = run("responses", "unmatched", "--ignored").stdout
    assert "STATUS" in table
    offer = next(line for line in table.splitlines() if "Offer" in line)
    hello = next(line for line in table.splitlines() if "Hello" in line)
    assert "ignored" in offer and "unmatched" in hello


# --- import: one primary contact per organization ----------------------------------------


def test_import_of_a_new_primary_contact_replaces_the_old_primary(directory, tmp_path, run):  # noqa: F811
    with directory.session() as s:
        office = get_contact(s, "amina.diallo@example.org").organization.contacts[0]
        office_id = office.id
        from outreach.directory.contacts import update_contact

        update_contact(office, session=s, is_primary=True)
    csv_file = tmp_path / "new-focal-point.csv"
    csv_file.write_text(
        "organization,name,email,is_primary\nAU,Kwame Mensah,k.mensah@example.org,yes\n",
        encoding="utf-8",
    )
    run("contacts", "import", csv_file)
    with directory.session() as s:
        au = get_organization(s, "AU")
        # Before: two primary contacts, and letters still went to the old one.
        assert [c.name for c in au.contacts if c.is_primary] == ["Kwame Mensah"]
        assert not s.get(Contact, office_id).is_primary
    log = run("log", "--org", "AU", "--format", "json").stdout
    assert "no longer the primary contact (Kwame Mensah is)" in log
    # Importing it again changes nothing.
    again = run("contacts", "import", csv_file).stdout
    assert "1 unchanged" in again


def test_latin1_mail_without_declared_charset_keeps_its_accents(db, tmp_path, run):
    sent_campaign(db)
    eml = tmp_path / "reply.eml"
    eml.write_bytes(
        b"From: Jos\xe9 Mar\xeda <sg@oas.org>\r\n"
        b"To: secretariat@coalition.example\r\n"
        b"Subject: R\xe9ponse \xe0 votre lettre\r\n"
        b"Message-ID: <latin1@oas.org>\r\n"
        b"Date: Wed, 28 Mar 2012 10:00:00 +0000\r\n"
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"Nous accusons r\xe9ception de votre lettre et serons pr\xe9sents.\r\n"
    )
    run("responses", "import", eml)
    with db.session() as s:
        response = s.scalar(sa.select(Response).where(Response.message_id == "<latin1@oas.org>"))
        # Before: "Jos� Mar�a", "R�ponse", "r�ception".
        assert response.sender == "José María <sg@oas.org>"
        assert response.summary.startswith("Réponse à votre lettre: Nous accusons réception")
        assert "\ufffd" not in response.summary
        assert response.stance.value == "acknowledgement"
        inbound = s.scalar(
            sa.select(InboundMessage).where(InboundMessage.message_id == "<latin1@oas.org>")
        )
        assert inbound.subject == "Réponse à votre lettre"


def test_logging_a_response_that_fits_no_campaign_says_so(db, run):
    sent_campaign(db)  # letters went out on 20 March 2012
    result = run("responses", "log", "--org", "GCC", "--received", "2012-03-01")
    # Before: logged silently without a campaign, and the follow-up list
    # still named GCC as silent.
    assert "belongs to no campaign" in result.stderr
    assert "--campaign" in result.stderr
    quiet = run("responses", "log", "--org", "GCC", "--received", "2012-03-25")
    assert "Warning" not in quiet.stderr


def test_archiving_twice_leaves_the_first_date_and_one_log_entry(directory, db_url, run):  # noqa: F811
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    run("orgs", "remove", "AU", "--force", "--yes")
    run("contacts", "remove", "amina.diallo@example.org", "--force", "--yes")
    before = table_dump(db_url)
    # Before: a second "archive" entry claiming archived_at went from empty to now.
    assert "archived" in run("orgs", "remove", "AU", "--force", "--yes").stdout
    assert (
        "archived"
        in run("contacts", "remove", "amina.diallo@example.org", "--force", "--yes").stdout
    )
    assert table_dump(db_url) == before


# --- files that cannot be written: a message, not a traceback ----------------------------


def test_export_to_a_place_that_cannot_be_written(directory, run, tmp_path):  # noqa: F811
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be\n")
    # Before: NotADirectoryError traceback.
    result = run("contacts", "export", "-o", blocker / "contacts.csv", expect=1)
    assert "cannot write it" in result.stderr and "Traceback" not in result.stderr
    person = ("contacts", "export-person", "amina.diallo@example.org")
    result = run(*person, "-o", blocker / "p.json", expect=1)
    assert "cannot write it" in result.stderr


def test_rejects_file_that_cannot_be_written_imports_nothing(directory, db_url, run, tmp_path):  # noqa: F811
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x\n")
    rows = tmp_path / "rows.csv"
    rows.write_text("organization,name,email\nAU,Jane,jane@x\nAU,Kofi,kofi@example.org\n")
    before = table_dump(db_url)
    result = run(
        "contacts", "import", rows, "--skip-invalid", "--rejects", blocker / "r.csv", expect=1
    )
    assert "cannot write the rejected rows" in result.stderr
    assert table_dump(db_url) == before
