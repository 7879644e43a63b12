"""``outreach log``: the activity log, filtered, newest first, in three formats."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from outreach.auditlog import activity_log, parse_since
from outreach.db import Database
from outreach.errors import NotFoundError, ValidationError
from outreach.schema import models as m

UTC = dt.UTC


@pytest.fixture
def history(db: Database) -> dict[str, int]:
    """Two organizations and a handful of changes by two people over a month."""
    with db.session() as s:
        au = m.Organization(acronym="AU", name="African Union")
        las = m.Organization(acronym="LAS", name="جامعة الدول العربية")
        s.add_all([au, las])
        s.flush()
        contact = m.Contact(organization=au, name="Office of the Chairperson")
        s.add(contact)
        s.flush()
        rows = [
            # at, actor, action, entity, entity_id, org, summary, changes
            (dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC), "amina", "create", "organization",
             au.id, None, "Added AU", None),
            (dt.datetime(2024, 3, 2, 10, 0, tzinfo=UTC), "amina", "update", "organization",
             au.id, au.id, None, {"name": ["AU", "African Union"], "tags": [[], ["pillar-3"]]}),
            (dt.datetime(2024, 3, 5, 11, 0, tzinfo=UTC), "Omar", "create", "contact",
             contact.id, au.id, "Added the Chairperson's office", None),
            (dt.datetime(2024, 3, 10, 12, 0, tzinfo=UTC), "omar", "update", "organization",
             las.id, las.id, None, {"name": ["League of Arab States", "جامعة الدول العربية"]}),
            (dt.datetime(2024, 3, 20, 8, 30, tzinfo=UTC), "amina", "send", "letter",
             42, las.id, "=HYPERLINK(\"http://evil\")", None),
            (dt.datetime(2024, 4, 1, 8, 0, tzinfo=UTC), "amina", "backup", "database",
             None, None, "Backup written to b.zip", None),
        ]  # fmt: skip
        for at, actor, action, entity, entity_id, org, summary, changes in rows:
            s.add(
                m.Activity(
                    at=at,
                    actor=actor,
                    action=action,
                    entity=entity,
                    entity_id=entity_id,
                    organization_id=org,
                    summary=summary,
                    changes=changes,
                )
            )
        return {"au": au.id, "las": las.id, "contact": contact.id}


def _json(run, *args):
    return json.loads(run("log", "--format", "json", *args).stdout)


def test_newest_first_with_who_when_what_and_before_after(run, history) -> None:
    entries = _json(run)
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    assert entries[0]["action"] == "backup" and entries[0]["at"] == "2024-04-01T08:00:00Z"
    edit = next(e for e in entries if e["entity"] == "organization" and e["action"] == "update"
                and e["organization"] == "AU")  # fmt: skip
    assert edit["actor"] == "amina"
    assert edit["changes"] == {
        "name": {"before": "AU", "after": "African Union"},
        "tags": {"before": [], "after": ["pillar-3"]},
    }

    table = run("log", env={"COLUMNS": "160"}).stdout
    lines = table.splitlines()
    assert lines[0].split() == ["AT", "ACTOR", "ACTION", "RECORD", "ORG", "DETAILS"]
    assert lines[1].startswith("2024-04-01 08:00")
    # an edit: one line per changed field, before -> after
    at = next(i for i, line in enumerate(lines) if line.startswith("2024-03-02 10:00"))
    assert lines[at].endswith("name: 'AU' -> 'African Union'")
    assert lines[at + 1].strip() == "tags: [] -> ['pillar-3']"
    assert "name: 'League of Arab States' -> 'جامعة الدول العربية'" in table
    assert "organization 1" in table


def test_org_filter_takes_the_acronym_in_any_case(run, history) -> None:
    entries = _json(run, "--org", "au")
    assert {e["organization"] for e in entries} == {"AU"}
    # the organization's own creation (entity_id only) and the contact added to it
    assert [(e["action"], e["entity"]) for e in entries] == [
        ("create", "contact"),
        ("update", "organization"),
        ("create", "organization"),
    ]
    result = run("log", "--org", "NOPE", expect=1)
    assert "no organization with acronym 'NOPE'" in result.stderr
    assert "Traceback" not in result.output


def test_since_until_entity_actor_action_filters(run, history) -> None:
    assert [e["action"] for e in _json(run, "--since", "2024-03-10")] == [
        "backup",
        "send",
        "update",
    ]
    assert len(_json(run, "--since", "2024-03-10T12:00:01")) == 2
    assert len(_json(run, "--since", "2024-03-10T13:00:00+02:00")) == 3
    assert [e["at"][:10] for e in _json(run, "--since", "2024-03-02", "--until", "2024-03-06")] == [
        "2024-03-05",
        "2024-03-02",
    ]
    assert [e["entity_id"] for e in _json(run, "--entity", "letters")] == [42]
    assert len(_json(run, "--entity", "organization")) == 3
    assert [e["action"] for e in _json(run, "--entity", f"organization:{history['las']}")] == [
        "update"
    ]
    assert {e["actor"] for e in _json(run, "--actor", "OMAR")} == {"Omar", "omar"}
    assert [e["entity"] for e in _json(run, "--action", "send")] == ["letter"]
    assert _json(run, "--since", "1d") == []  # a month ago is not in the last day

    result = run("log", "--since", "last tuesday", expect=2)
    assert "'--since': 'last tuesday' is not a date or time" in result.stderr
    result = run("log", "--entity", "letter:abc", expect=1)
    assert "record number" in result.stderr


def test_limit_and_csv(run, history) -> None:
    result = run("log", "--limit", "2")
    assert len(result.stdout.splitlines()) == 3  # header and two entries
    assert "--limit 0" in result.stderr
    assert len(_json(run, "--limit", "0")) == 6

    rows = list(csv.DictReader(io.StringIO(run("log", "--format", "csv").stdout)))
    assert len(rows) == 6
    assert rows[0]["at"] == "2024-04-01T08:00:00Z"
    send = next(r for r in rows if r["action"] == "send")
    assert send["summary"].startswith("'=")  # a spreadsheet will not run it
    assert send["record"] == "letter 42" and send["org"] == "LAS"


def test_library_query_and_since_parsing(db: Database, history) -> None:
    now = dt.datetime(2024, 3, 21, tzinfo=UTC)
    assert parse_since("2w", now=now) == dt.datetime(2024, 3, 7, tzinfo=UTC)
    assert parse_since("36h", now=now) == dt.datetime(2024, 3, 19, 12, tzinfo=UTC)
    assert parse_since("2024-03-01") == dt.datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(ValidationError):
        parse_since("soon")
    with db.session() as s:
        entries = activity_log(s, org="las", since=parse_since("2w", now=now))
        assert [e.what for e in entries] == ["letter 42", f"organization {history['las']}"]
        assert entries[1].change_list == [("name", "League of Arab States", "جامعة الدول العربية")]
        with pytest.raises(NotFoundError):
            activity_log(s, org="XYZ")


def test_empty_log(run) -> None:
    result = run("log")
    assert result.stdout == ""
    assert "(none)" in result.stderr
    assert _json(run) == []
