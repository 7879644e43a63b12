"""Text files in any encoding a spreadsheet saves: detected (byte-order marks,
UTF-8, else cp1252) or given with --encoding, and said in the summary; a file
in neither refused in one line that asks for its encoding."""

from __future__ import annotations

import codecs

import pytest
import sqlalchemy as sa

from outreach.directory import get_contact
from outreach.directory.importing.textfiles import check_encoding
from outreach.errors import ConfigurationError
from outreach.schema.models import Contact

from ..conftest import table_dump

#: Every letter that cp1252 has and latin-1 has not (€, œ, curly quotes, dash)
#: and some that both have.
ACCENTS = (
    "organization,name,position,notes\r\n"
    "AU,Amélie Ñúñez,Chargée de programme,“Cœur” – 5 € ‘façade’ …\r\n"
    "ECOWAS,François Gonçalves,Directeur général,Œuvre; naïve; Ærø\r\n"
)


def names(db) -> list[tuple[str, str, str | None]]:
    with db.session() as s:
        return sorted(s.execute(sa.select(Contact.name, Contact.position, Contact.notes)).all())


EXPECTED = [
    ("Amélie Ñúñez", "Chargée de programme", "“Cœur” – 5 € ‘façade’ …"),
    ("François Gonçalves", "Directeur général", "Œuvre; naïve; Ærø"),
]


def test_cp1252_csv_is_read_and_said(orgs, tmp_path, run):
    path = tmp_path / "windows.csv"
    path.write_bytes(ACCENTS.encode("cp1252"))
    out = run("contacts", "import", path).stdout
    assert (
        out.splitlines()[0] == f"{path}: read as cp1252 (Windows Western): the file is not UTF-8."
    )
    assert "2 created" in out
    assert names(orgs) == EXPECTED


@pytest.mark.parametrize(
    ("bom", "codec", "note"),
    [
        (codecs.BOM_UTF8, "utf-8", None),
        (b"", "utf-8", None),
        (codecs.BOM_UTF16_LE, "utf-16-le", "read as UTF-16 LE (its byte-order mark)"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "read as UTF-16 BE (its byte-order mark)"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "read as UTF-32 LE (its byte-order mark)"),
    ],
)
def test_unicode_files_by_byte_order_mark(orgs, tmp_path, run, bom, codec, note):
    path = tmp_path / f"{codec}.csv"
    path.write_bytes(bom + ACCENTS.encode(codec))
    out = run("contacts", "import", path).stdout
    if note:
        assert out.splitlines()[0] == f"{path}: {note}."
    else:
        assert "read as" not in out
    assert "2 created" in out
    assert names(orgs) == EXPECTED


def test_utf16_vcard_and_cp1252_json(orgs, tmp_path, run):
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë Lefèvre\r\nORG:African Union\r\n"
        "EMAIL:zoe@example.org\r\nNOTE:«Très» bien – 10 €\r\nEND:VCARD\r\n"
    )
    path = tmp_path / "outlook.vcf"
    path.write_bytes(codecs.BOM_UTF16_LE + card.encode("utf-16-le"))
    assert "1 created" in run("contacts", "import", path).stdout
    doc = '[{"organization": "ECOWAS", "name": "Renée Œhler", "email": "renee@example.org"}]'
    json_file = tmp_path / "list.json"
    json_file.write_bytes(doc.encode("cp1252"))
    out = run("contacts", "import", json_file).stdout
    assert "read as cp1252" in out and "1 created" in out
    with orgs.session() as s:
        assert get_contact(s, "zoe@example.org").notes == "«Très» bien – 10 €"
        assert get_contact(s, "renee@example.org").name == "Renée Œhler"


def test_bytes_undefined_in_cp1252_ask_for_the_encoding(orgs, tmp_path, db_url, run):
    path = tmp_path / "mystery.csv"
    path.write_bytes(b"organization,name\r\nAU,Amina\r\nAU,Caf\xe9 \x81 desk\r\n")
    before = table_dump(db_url)
    result = run("contacts", "import", path, expect=1)
    assert result.stderr.splitlines() == [
        f"Error: {path}:3: byte 0x81 is neither UTF-8 nor cp1252 (Windows Western) text; "
        "give the file's encoding (such as latin-1, mac-roman, cp1250 or cp1251), or save "
        "it as UTF-8 (--encoding)"
    ]
    assert table_dump(db_url) == before
    # told, it is read
    out = run("contacts", "import", path, "--encoding", "mac-roman").stdout
    assert f"{path}: read as Mac Roman, as given." in out and "2 created" in out
    with orgs.session() as s:
        assert s.scalar(sa.select(Contact.name).where(Contact.name.like("Caf%"))) == ("CafÈ Å desk")


def test_encoding_option_overrides_the_guess(orgs, tmp_path, run):
    text = "organization,name,position\r\nAU,Иван Петров,Посол\r\n"
    path = tmp_path / "cyrillic.csv"
    path.write_bytes(text.encode("cp1251"))
    out = run("contacts", "import", path, "--encoding", "Windows-1251").stdout
    assert f"{path}: read as cp1251 (Windows Cyrillic), as given." in out
    mac = tmp_path / "mac.csv"
    mac.write_bytes("organization,name\rAU,Zoë Müller\r".encode("mac-roman"))
    assert "1 created" in run("contacts", "import", mac, "--encoding", "macintosh").stdout
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes(codecs.BOM_UTF8 + "organization,name\nAU,Åsa Öberg\n".encode())
    out = run("contacts", "import", utf8, "--encoding", "utf-8").stdout
    assert "read as" not in out and "1 created" in out
    with orgs.session() as s:
        found = sorted(s.scalars(sa.select(Contact.name)))
    assert found == ["Zoë Müller", "Åsa Öberg", "Иван Петров"]


@pytest.mark.parametrize(
    "name",
    ["klingon", "rot13", "base64", "zip", "", "utf-8\x00", "../../etc/passwd", "x" * 5_000,
     "\u202eutf-8", "undefined"],
)  # fmt: skip
def test_unknown_encoding_names_are_one_line_errors(orgs, tmp_path, db_url, run, name):
    path = tmp_path / "c.csv"
    path.write_text("organization,name\nAU,Desk\n", encoding="utf-8")
    before = table_dump(db_url)
    result = run("contacts", "import", path, "--encoding", name, expect=1)
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: --encoding: '") and len(line) < 300, line
    assert "is not a text encoding Python knows" in line or "cannot be read as" in line
    assert "\x00" not in line and "\u202e" not in line
    assert table_dump(db_url) == before


def test_check_encoding_names_python_spelling():
    assert check_encoding("Latin1") == "iso8859-1"
    assert check_encoding(" UTF8 ") == "utf-8"
    assert check_encoding("windows-1252") == "cp1252"
    with pytest.raises(ConfigurationError):
        check_encoding("rot13")


def test_byte_order_mark_against_the_encoding_given(orgs, tmp_path, run):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"organization,name\nAU,Desk\n")
    result = run("contacts", "import", path, "--encoding", "cp1252", expect=1)
    assert result.stderr.strip() == (
        f"Error: --encoding: {path}: starts with the byte-order mark of UTF-8, not cp1252 "
        "(Windows Western); leave the encoding out, or give utf-8"
    )
    wide = tmp_path / "wide.csv"
    wide.write_bytes(codecs.BOM_UTF16_BE + "organization,name\nAU,Desk\n".encode("utf-16-be"))
    assert "1 created" in run("contacts", "import", wide, "--encoding", "utf-16").stdout


def test_utf16_without_its_mark_and_binary_files(orgs, tmp_path, db_url, run):
    before = table_dump(db_url)
    bare = tmp_path / "bare.csv"
    bare.write_bytes("organization,name\r\nAU,Zoë\r\n".encode("utf-16-le"))
    result = run("contacts", "import", bare, expect=1)
    assert result.stderr.strip() == (
        f"Error: {bare}: holds NUL bytes throughout: UTF-16 text without a byte-order mark, "
        "or not text at all; give its encoding (utf-16-le or utf-16-be) (--encoding)"
    )
    assert "1 created" in run("contacts", "import", bare, "--encoding", "utf-16-le").stdout
    noise = tmp_path / "image.csv"
    noise.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(0x20, 0x7F)) * 3)
    result = run("contacts", "import", noise, expect=1)
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {noise}:") and "control character" in line
    old = tmp_path / "old.csv"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 200)
    result = run("contacts", "import", old, expect=1)
    assert "is an Excel 97-2003 workbook (.xls) or a password-protected file" in result.stderr
    assert len(table_dump(db_url)["contacts"]) == len(before["contacts"]) + 1  # Zoë alone
