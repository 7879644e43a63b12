"""The rejects file: where --help says, the file's own columns plus a last
"problems" column, and importable again as it is once corrected, without
duplicating what the first import wrote."""

from __future__ import annotations

import csv
import json

import sqlalchemy as sa

from outreach.directory import get_contact
from outreach.schema.models import Contact

from ..conftest import table_dump
from ._xlsx import workbook

MIXED = (
    "organization,name,email,position\r\n"
    "AU,Amina,amina@example.org,Officer\r\n"
    "AU,Bad,bad@@example.org,Officer\r\n"
    "XYZ,Nobody,nobody@example.org,\r\n"
    "ECOWAS,Kofi,kofi@example.org,Director\r\n"
    'AU,"=SUM(1)",sum@,-2+3\r\n'
)
FIXES = {"bad@@example.org": "bad@example.org", "sum@": "sum@example.org"}


def read_rejects(path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def correct(path) -> None:
    """What a user does: fix the cells in the rejects file, leave the rest."""
    rows = read_rejects(path)
    header = rows[0]
    email, org = header.index("email"), header.index("organization")
    for row in rows[1:]:
        row[email] = FIXES.get(row[email], row[email])
        row[org] = "AU" if row[org] == "XYZ" else row[org]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)


def emails(db) -> list[str]:
    with db.session() as s:
        return sorted(s.scalars(sa.select(Contact.email)))


ALL = sorted(
    [
        "amina@example.org",
        "bad@example.org",
        "kofi@example.org",
        "nobody@example.org",
        "sum@example.org",
    ]
)


def test_rejects_round_trip_csv(orgs, tmp_path, run):
    path = tmp_path / "mixed.csv"
    path.write_text(MIXED, encoding="utf-8")
    result = run("contacts", "import", path, "--skip-invalid")
    assert "2 created" in result.stdout and "3 rejected" in result.stdout
    rejects = tmp_path / "mixed.rejects.csv"  # where --help says: beside FILE
    assert f"Rejected rows saved to {rejects}." in result.stderr
    rows = read_rejects(rejects)
    assert rows[0] == ["organization", "name", "email", "position", "problems"]
    assert [r[:4] for r in rows[1:]] == [
        ["AU", "Bad", "bad@@example.org", "Officer"],
        ["XYZ", "Nobody", "nobody@example.org", ""],
        ["AU", "'=SUM(1)", "sum@", "'-2+3"],  # defused, as every CSV we write
    ]
    assert rows[1][4].startswith("line 3: email: 'bad@@example.org'")
    assert rows[2][4].startswith("line 4: organization: no organization 'XYZ'")
    correct(rejects)
    # a spreadsheet program may save it with empty columns at the end
    data = rejects.read_bytes()
    assert data.count(b"\r\n") == 4
    rejects.write_bytes(data.replace(b"\r\n", b",,\r\n"))
    out = run("contacts", "import", rejects).stdout  # as it is, problems column and all
    assert "3 created, 0 updated, 0 unchanged, 0 rejected" in out
    assert emails(orgs) == ALL
    with orgs.session() as s:
        summed = get_contact(s, "sum@example.org")
        assert (summed.name, summed.position) == ("=SUM(1)", "-2+3")
    # nothing twice: the original and the corrected rejects change nothing now
    assert "0 created" in run("contacts", "import", rejects).stdout
    assert "0 created" in run("contacts", "import", path, "--skip-invalid").stdout
    assert emails(orgs) == ALL


def test_rejects_round_trip_xlsx(orgs, tmp_path, run):
    rows = [list(line.split(",")) for line in MIXED.replace('"', "").splitlines()]
    rows[5] = ["AU", "Sum", "sum@"]  # the rejected rows end before the last column
    rows[2] = ["AU", "Bad", "bad@@example.org"]
    path = tmp_path / "mixed.xlsx"
    path.write_bytes(workbook([[], *rows]))  # the header on the sheet's row 2
    run("contacts", "import", path, "--skip-invalid")
    rejects = tmp_path / "mixed.rejects.csv"  # CSV whatever the input
    found = read_rejects(rejects)
    assert found[0] == ["organization", "name", "email", "position", "problems"]
    assert found[1][:4] == ["AU", "Bad", "bad@@example.org", ""]
    assert found[1][4].startswith("line 4: email: ")  # the sheet's row
    correct(rejects)
    assert "3 created" in run("contacts", "import", rejects).stdout
    assert emails(orgs) == ALL


def test_a_rejects_file_rejected_again_keeps_its_shape(orgs, tmp_path, run):
    path = tmp_path / "mixed.csv"
    path.write_text(MIXED, encoding="utf-8")
    run("contacts", "import", path, "--skip-invalid")
    first = tmp_path / "mixed.rejects.csv"
    again = tmp_path / "again.csv"
    result = run("contacts", "import", first, "--skip-invalid", "--rejects", again)
    assert "0 created" in result.stdout and "3 rejected" in result.stdout
    rows = read_rejects(again)
    assert rows[0] == ["organization", "name", "email", "position", "problems"]
    assert rows[1][4].startswith("line 2: email: ")  # the line in the rejects file
    assert [r[:4] for r in rows] == [r[:4] for r in read_rejects(first)]


def test_rejects_file_is_never_the_file_imported(orgs, tmp_path, db_url, run):
    path = tmp_path / "mixed.csv"
    path.write_text(MIXED, encoding="utf-8")
    before = table_dump(db_url)
    for target in (path, tmp_path / "." / "mixed.csv"):
        result = run("contacts", "import", path, "--skip-invalid", "--rejects", target, expect=1)
        assert result.stderr.splitlines()[-1] == (
            f"Error: --rejects: {target}: is the file being imported; the rejected rows go "
            "to another file"
        )
    assert path.read_bytes() == MIXED.encode()
    assert table_dump(db_url) == before


def test_rejects_of_a_row_with_extra_cells_and_of_json(orgs, tmp_path, run):
    path = tmp_path / "wide.csv"
    path.write_text("organization,name\r\nAU,Desk,stray\r\n", encoding="utf-8")
    run("contacts", "import", path, "--skip-invalid")
    rows = read_rejects(tmp_path / "wide.rejects.csv")
    assert rows[1][:2] == ["AU", "Desk"] and rows[1][3:] == ["stray"]
    assert rows[1][2] == "line 2: row has 3 cells but the header has 2"
    doc = [
        {"organization": "AU", "name": "Ama", "email": "ama@", "tags": ["a", "b"]},
        {"organization": "AU", "name": "Ok", "email": "ok@example.org"},
    ]
    source = tmp_path / "list.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    run("contacts", "import", source, "--skip-invalid")
    rejects = tmp_path / "list.rejects.csv"
    rows = read_rejects(rejects)
    assert rows[0] == ["organization", "name", "email", "tags", "problems"]
    assert rows[1][:4] == ["AU", "Ama", "ama@", "a, b"]
    text = rejects.read_text(encoding="utf-8-sig").replace("ama@,", "ama@example.org,")
    rejects.write_text(text, encoding="utf-8-sig")
    assert "1 created" in run("contacts", "import", rejects).stdout
    with orgs.session() as s:
        assert get_contact(s, "ama@example.org").tags == ["a", "b"]


def test_help_says_where_the_rejects_go(run):
    text = " ".join(run("contacts", "import", "--help").stdout.split())
    assert "[default: beside FILE, NAME.rejects.csv for NAME.csv or NAME.xlsx]" in text
    assert 'a last "problems" column' in text
