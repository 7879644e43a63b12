"""Who a campaign writes to: recipients added by acronym or filter, removed,
and written to through a chosen contact."""

from __future__ import annotations

import sqlalchemy as sa

from outreach.db import Database
from outreach.schema.models import Activity

from .._letters_fixtures import seed
from ..conftest import row_counts


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


def test_contact_override_and_sender_merge(db: Database, run) -> None:
    from outreach.schema.models import Contact, Letter, Organization

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
