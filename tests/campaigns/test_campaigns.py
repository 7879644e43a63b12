"""Campaigns through the CLI: create, edit with variables, clone, close."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from outreach.db import Database
from outreach.schema.models import Campaign, CampaignRecipient

from .._letters_fixtures import seed


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


def test_the_sender_speaks_each_letters_language(db: Database, run) -> None:
    """The sender's organization, the signatory's title and the place per
    language: a French letter signs in French, and an edit merges language by
    language (an empty text removes one)."""
    seed(db)
    run(
        "campaigns", "edit", "tp",
        "--sender-organization", "Coalition Secretariat",
        "--sender-organization-in", "fr", "Secrétariat de la coalition",
        "--signatory-title-in", "fr", "Coordinatrice",
        "--sender-place-in", "fr", "New York",
        "--signatory-title-in", "es", "Coordinadora",
    )  # fmt: skip
    run("campaigns", "edit", "tp", "--signatory-title-in", "es", "")
    with db.session() as s:
        sender = s.scalars(sa.select(Campaign.sender).where(Campaign.slug == "tp")).one()
    assert sender["organization"] == "Coalition Secretariat"
    assert sender["i18n"] == {
        "fr": {
            "organization": "Secrétariat de la coalition",
            "signatory_title": "Coordinatrice",
            "place": "New York",
        }
    }
    preview = run("letters", "preview", "--campaign", "tp", "--org", "AU", "--language", "fr")
    assert "**Secrétariat de la coalition**" in preview.stdout
    assert "New York, le " in preview.stdout and "Coordinatrice" in preview.stdout
    assert "Coalition Secretariat" not in preview.stdout
    bad = run("campaigns", "edit", "tp", "--sender-place-in", "xx", "Y", expect=1)
    assert "sender text language 'xx'" in bad.stderr
