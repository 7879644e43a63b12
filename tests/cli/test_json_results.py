"""``--format json`` results of letters send, letters generate and the
directory imports: one JSON object on stdout, the human lines elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ..mailfixtures import SmtpServer, seed_campaign, smtp_server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


def test_send_json_names_every_letter_with_its_message_id(db, run, smtp):
    ids = seed_campaign(db, letters=3)["letters"]
    result = run(
        "letters", "send", "--campaign", "iid-2012", "--send", "--format", "json", *smtp.argv()
    )
    data = json.loads(result.stdout)
    assert data["campaign"] == "iid-2012" and data["dry_run"] is False
    assert (data["sent"], data["failed"], data["in_doubt"]) == (3, 0, 0)
    assert data["server"].startswith("127.0.0.1")
    received = {r.message_id for r in smtp.recorder.received}
    assert {x["letter"] for x in data["letters"]} == set(ids)
    assert {x["message_id"] for x in data["letters"]} == received
    assert all(x["status"] == "sent" for x in data["letters"])
    assert "Sent" not in result.stderr


def test_send_json_partial_failure_exits_3(db, run, smtp, tmp_path):
    ids = seed_campaign(db, letters=3)["letters"]
    smtp.recorder.refuse_rcpt["sg@africa-union.org"] = "550 5.1.1 no such user"
    failures = tmp_path / "f.csv"
    result = run(
        "letters",
        "send",
        "--campaign",
        "iid-2012",
        "--send",
        "--format",
        "json",
        "--failures-csv",
        failures,
        *smtp.argv(),
        expect=3,
    )
    data = json.loads(result.stdout)
    assert (data["sent"], data["failed"]) == (2, 1)
    failed = [x for x in data["letters"] if x["status"] == "failed"]
    assert [x["letter"] for x in failed] == [ids[1]] and "550 5.1.1" in failed[0]["error"]
    assert data["failures_csv"] == str(failures)
    # Sending again: the failed one is held back, listed with its reason.
    again = json.loads(
        run("letters", "send", "--campaign", "iid-2012", "--format", "json", *smtp.argv()).stdout
    )
    assert again["dry_run"] is True and again["would_send"] == 0
    assert [x["letter"] for x in again["held_back"]["failed_before"]] == [ids[1]]
    assert again["skipped"] == 1


def test_send_json_dry_run_and_hostile_subject_stay_valid_json(db, run, smtp):
    seed_campaign(db, letters=2)
    from sqlalchemy import update

    from outreach.schema.models import Letter

    hostile = 'Re: "x"\x1b[31m\u202e</script>\\'
    with db.session() as session:
        session.execute(update(Letter).values(subject=hostile))
    result = run(
        "letters", "send", "--campaign", "iid-2012", "--format", "json", *smtp.argv(), expect=1
    )
    data = json.loads(result.stdout)
    assert data["would_fail"] == 2 and smtp.recorder.count() == 0
    # the exact text, as JSON escapes: nothing raw reaches the terminal
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert {x["subject"] for x in data["letters"]} == {hostile}
    assert all("U+001B" in x["error"] for x in data["letters"])


def test_send_show_with_json_is_a_usage_error(db, run, smtp):
    seed_campaign(db, letters=1)
    result = run(
        "letters", "send", "--campaign", "iid-2012", "--show", "--format", "json", expect=2
    )
    assert "--show" in result.stderr and result.stdout == ""


def test_send_nothing_sent_and_a_failure_exits_1(db, run, smtp):
    seed_campaign(db, letters=1)
    smtp.recorder.refuse_rcpt["sg@gcc-sg.org"] = "550 5.1.1 no such user"
    result = run(
        "letters",
        "send",
        "--campaign",
        "iid-2012",
        "--send",
        "--format",
        "json",
        *smtp.argv(),
        expect=1,
    )
    assert json.loads(result.stdout)["failed"] == 1


# --- letters generate -----------------------------------------------------------


def _generate(run, *args, expect=0):
    return run(
        "letters", "generate", "--campaign", "tp", "--date", "2012-06-01", *args, expect=expect
    )


def test_generate_json_counts_then_unchanged_and_files(db, run, tmp_path):
    from .._letters_fixtures import seed

    seed(db)
    first = json.loads(_generate(run, "--format", "json").stdout)
    assert first["campaign"] == "tp" and first["kind"] == "letters"
    assert first["created"] == len(first["letters"]) > 0
    assert (first["new_versions"], first["unchanged"], first["files"]) == (0, 0, [])
    assert all(x["letter"] and x["message_id"] and x["org"] for x in first["letters"])
    out = tmp_path / "out"
    again = _generate(run, "--format", "json,pdf", "--out", out)
    data = json.loads(again.stdout)
    assert data["created"] == 0 and data["unchanged"] == first["created"]
    assert sorted(data["files"]) == sorted(str(p) for p in out.iterdir())
    assert all(f.endswith(".pdf") for f in data["files"])


def test_generate_json_lists_the_skipped_with_their_reasons(db, run):
    from sqlalchemy import update

    from outreach.schema.models import Contact

    from .._letters_fixtures import seed

    seed(db)
    with db.session() as session:
        session.execute(
            update(Contact).where(Contact.email == "sg@au.example").values(do_not_contact=True)
        )
    result = _generate(run, "--format", "json")
    data = json.loads(result.stdout)
    assert data["skipped"] == [
        {"org": "AU", "contact": "Secretary-General of AU", "reason": "do not contact"}
    ]
    assert "AU" not in {x["org"] for x in data["letters"]}
    assert "skipped" not in result.stderr  # the human lines are not printed at all


def test_generate_json_needs_out_only_for_files(db, run):
    from .._letters_fixtures import seed

    seed(db)
    result = _generate(run, "--format", "json,pdf", expect=2)
    assert "--out" in result.stderr and result.stdout == ""
    result = _generate(run, "--format", "jsonx", expect=2)
    assert "jsonx" in result.stderr


# --- orgs import / contacts import ------------------------------------------------

ORGS_CSV = (
    "acronym,name,kind,region\r\nAU,African Union,regional,africa\r\n"
    "ECOWAS,Economic Community of West African States,sub-regional,africa\r\n"
)
CONTACTS_CP1252 = (
    "organization,name,email,position\r\n"
    "AU,Amélie Ñúñez,amelie@example.org,Chargée – “programme”\r\n"
    "AU,Bad,bad@@example.org,Officer\r\n"
    'ECOWAS,"=SUM(1)",kofi@example.org,Director\r\n'
)


def test_orgs_import_json_then_unchanged(run, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text(ORGS_CSV, encoding="utf-8")
    first = json.loads(run("orgs", "import", path, "--format", "json").stdout)
    assert (first["created"], first["updated"], first["unchanged"], first["rejected"]) == (
        2,
        0,
        0,
        0,
    )
    assert first["file"] == str(path) and first["encoding"] == "utf-8"
    assert first["dry_run"] is False and first["rejects_file"] is None
    again = json.loads(run("orgs", "import", path, "--format", "json", "--dry-run").stdout)
    assert again["dry_run"] is True and again["unchanged"] == 2 and again["created"] == 0
    assert {a["action"] for a in again["actions"]} == {"unchanged"}


def test_contacts_import_json_names_encoding_and_rejects(run, tmp_path):
    orgs = tmp_path / "orgs.csv"
    orgs.write_text(ORGS_CSV, encoding="utf-8")
    run("orgs", "import", orgs)
    path = tmp_path / "windows.csv"
    path.write_bytes(CONTACTS_CP1252.encode("cp1252"))
    result = run("contacts", "import", path, "--skip-invalid", "--format", "json")
    data = json.loads(result.stdout)
    assert data["encoding"] == "cp1252"
    assert (data["created"], data["rejected"]) == (2, 1)
    rejects = tmp_path / "windows.rejects.csv"
    assert data["rejects_file"] == str(rejects) and rejects.exists()
    assert data["problems"] and "bad@@example.org" in " ".join(data["problems"])
    # the problem lines still go to stderr for a person; the summary does not
    assert "bad@@example.org" in result.stderr and "Imported" not in result.output


def test_import_json_hostile_names_are_escaped(run, tmp_path):
    orgs = tmp_path / "orgs.csv"
    orgs.write_text(ORGS_CSV, encoding="utf-8")
    run("orgs", "import", orgs)
    path = tmp_path / "contacts.csv"
    hostile = "Evil\u202egnp.exe\u2028Name\u0085"
    path.write_text(
        f'organization,name,email\r\nAU,"{hostile}",evil@example.org\r\n', encoding="utf-8"
    )
    refused = run("contacts", "import", path, "--format", "json", expect=1)
    assert refused.stdout == "" and "U+202E" in refused.stderr
    result = run("contacts", "import", path, "--format", "json", "--skip-invalid")
    data = json.loads(result.stdout)
    assert (data["created"], data["rejected"]) == (0, 1)
    assert "U+202E" in data["problems"][0]
    for raw in ("\u202e", "\u2028", "\u0085"):
        assert raw not in result.stdout and raw not in result.stderr


def test_import_json_refused_file_is_one_error_line(run, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("organization,name,email\r\nNOPE,X,x@example.org\r\n", encoding="utf-8")
    result = run("contacts", "import", path, "--format", "json", expect=1)
    assert result.stdout == "" and "Error:" in result.stderr
