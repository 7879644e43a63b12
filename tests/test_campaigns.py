"""Dialogues and campaigns through the CLI and the library."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from outreach.db import Database
from outreach.models import Activity, Campaign, CampaignRecipient

from ._letters_fixtures import seed
from .conftest import row_counts


def test_dialogues_add_list_show_edit(run) -> None:
    run(
        "dialogues",
        "add",
        "ga-2012",
        "--title",
        "RtoP dialogue",
        "--date",
        "tba",
        "--report-symbol",
        "A/66/874-S/2012/578",
    )
    shown = run("dialogues", "show", "ga-2012")
    assert "to be announced" in shown.stdout
    run("dialogues", "edit", "ga-2012", "--date", "2012-09-05", "--states-spoke", "56")
    shown = run("dialogues", "show", "ga-2012", "--format", "json")
    assert '"date": "2012-09-05"' in shown.stdout and '"states_spoke": 56' in shown.stdout
    assert "ga-2012" in run("dialogues", "list").stdout
    bad = run("dialogues", "edit", "ga-2012", "--date", "5 Sept", expect=1)
    assert "YYYY-MM-DD" in bad.stderr


def test_campaign_create_with_vars_file_and_set(db: Database, run, tmp_path: Path) -> None:
    seed(db)
    toml = tmp_path / "v.toml"
    toml.write_text('reply_by = 2013-06-01\ntheme_note = "Prevention"\n')
    yml = tmp_path / "v.yaml"
    yml.write_text("extra: yes please\n")
    run(
        "campaigns",
        "create",
        "tp-2013",
        "--title",
        "Next year",
        "--template",
        "third-pillar",
        "--vars",
        toml,
        "--set",
        "speaker=Ms Ana",
        "--region",
        "mena",
    )
    shown = run("campaigns", "show", "tp-2013").stdout
    assert "reply_by=2013-06-01" in shown and "speaker=Ms Ana" in shown
    run("campaigns", "edit", "tp-2013", "--vars", yml, "--unset", "theme_note")
    shown = run("campaigns", "show", "tp-2013").stdout
    assert "extra=yes please" in shown and "theme_note" not in shown
    recipients = run("campaigns", "recipients", "tp-2013").stdout
    assert "LAS" in recipients and "GCC" in recipients and "AU " not in recipients
    bad = run("campaigns", "edit", "tp-2013", "--set", "organization=x", expect=1)
    assert "reserved" in bad.stderr


def test_recipients_added_and_removed(db: Database, run, db_url: str) -> None:
    seed(db)
    run("campaigns", "create", "c2", "--title", "C2", "--template", "third-pillar")
    out = run("campaigns", "add-recipients", "c2", "AU", "oas").stdout
    assert "Added 2" in out
    out = run("campaigns", "add-recipients", "c2", "--kind", "sub-regional").stdout
    assert "ECOWAS" in out and "GCC" in out
    again = run("campaigns", "add-recipients", "c2", "AU").stdout
    assert "Already recipients: AU" in again
    run("campaigns", "remove-recipients", "c2", "OAS")
    listed = run("campaigns", "recipients", "c2", "--format", "csv").stdout
    assert "OAS" not in listed and "AU" in listed
    counts = row_counts(db_url)
    missing = run("campaigns", "add-recipients", "c2", "NOPE", expect=1)
    assert "no organization 'NOPE'" in missing.stderr
    assert row_counts(db_url) == counts
    with db.session() as s:
        actions = s.scalars(sa.select(Activity.summary).where(Activity.entity == "campaign")).all()
    assert any("OAS removed from campaign c2" in a for a in actions)


def test_clone_and_close(db: Database, run) -> None:
    seed(db)
    run("letters", "generate", "--campaign", "tp")
    run("campaigns", "clone", "tp", "tp-2013", "--title", "Third pillar, next year")
    with db.session() as s:
        clone = s.scalar(sa.select(Campaign).where(Campaign.slug == "tp-2013"))
        n = s.scalar(sa.select(sa.func.count()).where(CampaignRecipient.campaign_id == clone.id))
        assert n == 5 and clone.template == "third-pillar" and clone.status.value == "draft"
        assert clone.variables == {"reply_by": {"$date": "2012-06-15"}}
    listed = run("campaigns", "list").stdout
    assert "tp-2013" in listed
    run("campaigns", "close", "tp")
    assert "already closed" in run("campaigns", "close", "tp", expect=1).stderr
    assert "closed" in run("campaigns", "edit", "tp", "--title", "x", expect=1).stderr


def test_contact_override_and_sender_merge(db: Database, run) -> None:
    from outreach.models import Contact, Letter, Organization

    seed(db)
    with db.session() as s:
        au = s.scalar(sa.select(Organization).where(Organization.acronym_key == "au"))
        s.add(
            Contact(
                organization_id=au.id,
                name="Bureau du Président",
                kind="office",
                email="bureau@au.example",
                language="fr",
            )
        )
    run("campaigns", "add-recipients", "tp", "AU", "--contact", "bureau@au.example")
    run("campaigns", "edit", "tp", "--sender-website", "coalition.example")
    shown = run("campaigns", "show", "tp", "--format", "json").stdout
    assert "info@coalition.example" in shown and "coalition.example" in shown
    run("letters", "generate", "--campaign", "tp")
    with db.session() as s:
        letter = s.scalar(
            sa.select(Letter).join(Organization).where(Organization.acronym_key == "au")
        )
        assert letter.to_address == "bureau@au.example"
        assert letter.language == "fr"  # the chosen contact prefers French
        assert "Madame, Monsieur," in letter.body
        assert "info@coalition.example · coalition.example" in letter.body
