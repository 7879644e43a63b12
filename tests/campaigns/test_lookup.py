"""One rule for naming a campaign or dialogue (id, then slug), and one for a
campaign becoming active, whether through the ORM or a Core connection."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from outreach.campaigns import activate_campaign, get_campaign, get_dialogue
from outreach.campaigns.activation import activate
from outreach.campaigns.lookup import find_campaign_row, find_dialogue_row
from outreach.db import Database
from outreach.errors import NotFoundError
from outreach.schema.models import Activity, Campaign

from .._letters_fixtures import seed


def test_session_and_connection_find_the_same_campaign(db: Database) -> None:
    seed(db)
    with db.session() as s:
        by_slug = get_campaign(s, " tp ")
        assert get_campaign(s, by_slug.id) is by_slug
        assert get_campaign(s, str(by_slug.id)) is by_slug
        dialogue_id = get_dialogue(s, "ga-2012").id
    with db.read() as conn:
        assert find_campaign_row(conn, "tp").id == by_slug.id
        assert find_campaign_row(conn, str(by_slug.id)).slug == "tp"
        assert find_dialogue_row(conn, dialogue_id).slug == "ga-2012"


@pytest.mark.parametrize("ref", ["nope", "9999", 9999, "²", ""])
def test_unknown_campaign_is_the_same_error_both_ways(db: Database, ref: str | int) -> None:
    seed(db)
    with db.session() as s, pytest.raises(NotFoundError) as orm:
        get_campaign(s, ref)
    with db.read() as conn, pytest.raises(NotFoundError) as core:
        find_campaign_row(conn, ref)
    assert str(orm.value) == str(core.value) == f"no campaign {ref!r}"
    assert orm.value.hint == core.value.hint == "campaigns list"


def test_unknown_dialogue_points_to_the_dialogue_list(db: Database) -> None:
    with db.session() as s, pytest.raises(NotFoundError) as exc:
        get_dialogue(s, "nope")
    assert exc.value.hint == "dialogues list"


def _activity(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        rows = s.execute(
            sa.select(Activity.actor, Activity.summary).where(Activity.summary.like("% is active"))
        )
        return [tuple(r) for r in rows]


def test_activation_through_the_orm(db: Database) -> None:
    seed(db)
    with db.session() as s:
        campaign = get_campaign(s, "tp")
        assert campaign.status.value == "draft"
        activate_campaign(s, campaign)
        assert campaign.status.value == "active"  # the object sees the change
        activate_campaign(s, campaign)  # once only
    with db.session() as s:
        assert s.scalar(sa.select(Campaign.status).where(Campaign.slug == "tp")).value == "active"
    assert _activity(db) == [("tester", "campaign tp is active")]


def test_activation_on_a_connection(db: Database) -> None:
    seed(db)
    with db.write() as conn:
        assert activate(conn, find_campaign_row(conn, "tp"), actor="generator")
        assert not activate(conn, find_campaign_row(conn, "tp"), actor="generator")
    assert _activity(db) == [("generator", "campaign tp is active")]


def test_the_core_lookup_does_not_load_the_orm() -> None:
    code = (
        "import sys, outreach.campaigns.lookup, outreach.campaigns.activation, outreach.campaigns;"
        "print('sqlalchemy.orm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
