"""No traceback from any importer input (issue 11, point 6): one regression
test per class of hostile input the attack run found, through the command
line, on the test backend (SQLite or PostgreSQL).

* Contacts and organizations (CSV, JSON, vCard): a file holding what no field
  can hold is refused as a whole with ``file:line: field: what`` and the
  database stays as it was.
* Replies (mbox, Maildir, .eml): a message that cannot be read is queued in
  ``responses unmatched`` with the reason (its raw bytes kept), the other
  messages are imported; NUL and lone surrogates in a message's text become
  U+FFFD in what is stored, the raw message keeps its bytes.
* Campaign variables (``--set``, TOML/YAML files) and backup archives: a clean
  one-line error, nothing changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.attachments import AttachmentStore
from outreach.backup.write import backup
from outreach.db import Database

from ._letters_fixtures import seed
from .backup._fixtures import _resealed, _rewrite, fill
from .conftest import BACKEND, table_dump


@pytest.fixture
def world(db, db_url, tmp_path, monkeypatch):
    seed(db)
    monkeypatch.setenv("OUTREACH_ATTACHMENTS_DIR", str(tmp_path / "store"))
    return {"db": db, "url": db_url, "tmp": tmp_path}


def _refused(run, url: str, *args, where: str | None = None, expect_in: str = ""):
    """Run *args*; it must exit 1 with a one-line ``Error:`` (and, when given,
    a problem line starting with *where*), leaving the database as it was."""
    before = table_dump(url)
    result = run(*args, expect=1)
    assert "Traceback" not in result.output
    lines = result.stderr.rstrip().splitlines()
    assert lines and lines[-1].startswith("Error: "), result.stderr
    if where is not None:
        problem = [ln for ln in lines if ln.startswith(where)]
        assert problem, result.stderr
        assert expect_in in problem[0], result.stderr
    else:
        assert expect_in in result.stderr, result.stderr
    assert table_dump(url) == before, "a refused input changed the database"
    return result


# --- contacts: JSON ------------------------------------------------------------------------

RECORD = '{"organization": "AU", "name": %s, "email": "ama@au.example"}'


def _json(world, name: str, text: str) -> Path:
    path = world["tmp"] / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_json_nested_thousands_deep_is_refused(world, run, depth):
    """Before: RecursionError traceback from json.loads (at 100,000)."""
    path = _json(world, "deep.json", "[" * depth + "]" * depth)
    _refused(run, world["url"], "contacts", "import", path, where=f"{path}:1:",
             expect_in="nested more than 32 levels deep")  # fmt: skip


def test_json_value_nested_deep_in_a_record_is_refused(world, run):
    path = _json(world, "deepvalue.json", "[\n" + RECORD % ("[" * 5000 + "]" * 5000) + "\n]")
    _refused(run, world["url"], "contacts", "import", path, where=f"{path}:2:",
             expect_in="nested more than")  # fmt: skip


@pytest.mark.parametrize("digits", [51, 4_301, 100_000])
def test_json_integer_of_thousands_of_digits_is_refused(world, run, digits):
    """Before: ValueError "Exceeds the limit (4300 digits)" traceback."""
    path = _json(world, "bigint.json", "[\n" + RECORD % ("9" * digits) + "\n]")
    _refused(run, world["url"], "contacts", "import", path, where=f"{path}:2: name:",
             expect_in=f"a number of {digits} digits")  # fmt: skip


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_json_numbers_out_of_range_are_refused(world, run, literal):
    """Before: imported, the contact's notes saying "inf" or "nan"."""
    text = '[{"organization": "AU", "name": "Ama", "email": "a@au.example", "notes": %s}]'
    path = _json(world, "float.json", text % literal)
    _refused(run, world["url"], "contacts", "import", path, where=f"{path}:1: notes:",
             expect_in=literal)  # fmt: skip


def test_every_bad_number_is_reported_with_its_line(world, run):
    text = "[\n" + RECORD % ("9" * 5000) + ",\n" + RECORD % "NaN" + "\n]"
    path = _json(world, "two.json", text)
    result = _refused(run, world["url"], "contacts", "import", path, where=f"{path}:2: name:")
    assert f"{path}:3: name: NaN" in result.stderr


@pytest.mark.parametrize("escape", ["\\ud800", "a\\udfffb", "\\ud83d"])
def test_json_lone_surrogates_are_refused(world, run, escape):
    """Before: UnicodeEncodeError traceback from the database driver."""
    path = _json(world, "surrogate.json", "[" + RECORD % f'"{escape}"' + "]")
    result = _refused(run, world["url"], "contacts", "import", path, where=f"{path}:1: name:",
                      expect_in="surrogate")  # fmt: skip
    result.stderr.encode("utf-8")  # the message itself prints anywhere


def test_json_lone_surrogate_in_a_key_is_refused(world, run):
    """Before: the key "name\\ud800" was read as "name" and imported."""
    text = '[{"organization": "AU", "name\\ud800": "Ama", "email": "a@au.example"}]'
    path = _json(world, "surrogate-key.json", text)
    _refused(run, world["url"], "contacts", "import", path, where=f"{path}:1: name\\ud800:",
             expect_in="surrogate")  # fmt: skip


def test_json_good_surrogate_pair_and_bom_import(world, run):
    path = world["tmp"] / "ok.json"
    path.write_bytes(b"\xef\xbb\xbf[" + (RECORD % '"Ama \\ud83d\\ude00"').encode() + b"]")
    run("contacts", "import", path)
    with world["db"].session() as s:
        names = s.scalars(sa.text("SELECT name FROM contacts WHERE email = 'ama@au.example'"))
        assert list(names) == ["Ama \U0001f600"]


@pytest.mark.parametrize("text", ['"a\\u0000b"', '"\\u0000"'])
def test_json_nul_is_refused(world, run, text):
    path = _json(world, "nul.json", "[" + RECORD % text + "]")
    _refused(run, world["url"], "contacts", "import", path, where=f"{path}:1: name:",
             expect_in="NUL")  # fmt: skip


def test_orgs_json_with_a_bad_number_is_refused(world, run):
    text = '{"organizations": [\n{"acronym": "NEW", "name": "New", "tags": [1e999]}\n]}'
    path = _json(world, "orgs.json", text)
    _refused(run, world["url"], "orgs", "import", path, where=f"{path}:2: tags:",
             expect_in="out of range")  # fmt: skip


# --- contacts: CSV and vCard ------------------------------------------------------------------


def test_csv_with_nul_bytes_is_refused(world, run):
    path = world["tmp"] / "nul.csv"
    path.write_bytes(b"organization,name,email\r\nAU,Am\x00a,ama@au.example\r\n")
    _refused(run, world["url"], "contacts", "import", path, where=f"{path}:2: name:",
             expect_in="NUL")  # fmt: skip


def test_csv_cell_over_the_field_size_limit_is_refused(world, run):
    path = world["tmp"] / "big.csv"
    path.write_bytes(b"organization,name,email,notes\r\nAU,Ama,a@au.example," + b"x" * 140_000)
    _refused(run, world["url"], "contacts", "import", path, where=f"{path}:2:",
             expect_in="longer than 131072 characters")  # fmt: skip


def test_csv_invalid_utf8_is_refused_as_utf8_and_never_a_surrogate(world, run):
    """An encoded lone surrogate is no UTF-8: refused when the file is said to
    be UTF-8; otherwise the file is read as cp1252 (issue 16), and says so."""
    path = world["tmp"] / "latin.csv"
    path.write_bytes(b"organization,name,email\r\nAU,\xed\xa0\x80,a@au.example\r\n")
    _refused(run, world["url"], "contacts", "import", path, "--encoding", "utf-8",
             expect_in=f"{path}:2: byte 0xED cannot be read as UTF-8")  # fmt: skip
    out = run("contacts", "import", path).stdout
    assert "read as cp1252 (Windows Western): the file is not UTF-8" in out
    with world["db"].session() as s:
        name = s.execute(
            sa.text("SELECT name FROM contacts WHERE email = :e"), {"e": "a@au.example"}
        ).scalar_one()
    assert name == "\u00ed\u00a0\u20ac"  # "í", a no-break space, "€": no surrogate


def _vcard(world, *lines: str) -> Path:
    path = world["tmp"] / "cards.vcf"
    path.write_text("\r\n".join(["BEGIN:VCARD", *lines, "END:VCARD", ""]), encoding="utf-8")
    return path


def test_vcard_list_values_are_read_as_text(world, run):
    """Before: ``N`` with comma-separated parts gave a TypeError traceback."""
    path = _vcard(
        world, "VERSION:3.0", "N:Diallo,Ba;Amina,Awa;;Dr;", "ORG:AU;Department;Unit",
        "EMAIL:ama@au.example", "EMAIL:other@au.example", "TEL:+1 555 0100", "TEL:+1 555 0101",
        "LANG:fr", "LANG:en", "ADR:;;1 Main St,Floor 2;Addis Ababa;;;", "CATEGORIES:a,,b",
        "FN:", "NOTE:folded", "  across lines",
    )  # fmt: skip
    run("contacts", "import", path)
    with world["db"].session() as s:
        row = s.execute(
            sa.text("SELECT name, postal_address, language FROM contacts WHERE email = :e"),
            {"e": "ama@au.example"},
        ).one()
    assert row[0] == "Dr Amina Awa Diallo Ba"
    assert "1 Main St Floor 2" in row[1] and row[2] == "fr"


@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("NOTE;ENCODING=b:AAB4AA==", "NOTE"),
        ("EMAIL;ENCODING=b:YUBiLmV4YW1wbGU=", "EMAIL"),
        ("X-OUTREACH-PRIMARY;ENCODING=b:AA==", "X-OUTREACH-PRIMARY"),
    ],
)
def test_vcard_binary_values_are_refused(world, run, line, label):
    """Before: stored as the text "b'\\x00\\x00x\\x00'"."""
    path = _vcard(world, "VERSION:3.0", "FN:Ama", "ORG:AU", line)
    _refused(run, world["url"], "contacts", "import", path, where=f"{path}:1: {label}:",
             expect_in="binary")  # fmt: skip


@pytest.mark.parametrize(
    "line",
    [
        "FN;ENCODING=QUOTED-PRINTABLE:A=00B",
        "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=x-bogus:=E9",
        "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:=ED=A0=80",
        "PHOTO;ENCODING=b;TYPE=JPEG:AAAAA",
    ],
)
def test_vcard_broken_encodings_are_refused(world, run, line):
    path = _vcard(world, "VERSION:2.1", "ORG:AU", "EMAIL:a@au.example", line)
    _refused(run, world["url"], "contacts", "import", path, where=f"{path}:1:")


def test_vcard_base64_photo_is_ignored(world, run):
    photo = base64.b64encode(b"\xff\xd8\xff" + b"\x00" * 30_000).decode()
    folded = "\r\n ".join(photo[i : i + 74] for i in range(0, len(photo), 74))
    path = _vcard(world, "VERSION:3.0", "FN:Ama", "ORG:AU", "EMAIL:a@au.example",
                  f"PHOTO;ENCODING=b;TYPE=JPEG:{folded}")  # fmt: skip
    run("contacts", "import", path)


# --- replies -----------------------------------------------------------------------------------


def _mail(*headers: bytes, body: bytes = b"Thank you.") -> bytes:
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


GOOD = _mail(b"From: sg@au.example", b"Subject: Our answer", b"Message-ID: <good@au.example>",
             body=b"We support the proposal.")  # fmt: skip


def _deep_mime(depth: int) -> bytes:
    out = [b"Content-Type: multipart/mixed; boundary=b0", b""]
    for i in range(1, depth):
        out += [b"--b%d" % (i - 1), b"Content-Type: multipart/mixed; boundary=b%d" % i, b""]
    out += [b"--b%d" % (depth - 1), b"Content-Type: text/plain", b"", b"deep", b""]
    return b"\r\n".join(out)


def _mbox(world, *messages: bytes) -> Path:
    path = world["tmp"] / "replies.mbox"
    parts = [b"From sender Thu Mar 29 10:00:00 2012\n" + m.replace(b"\r\n", b"\n") + b"\n"
             for m in messages]  # fmt: skip
    path.write_bytes(b"\n".join(parts))
    return path


def _same_bytes(stored: bytes, written: bytes) -> bool:
    """The message as stored is the one written into the mbox (which has
    LF line ends and a blank line after each message)."""
    return stored.rstrip(b"\n") == written.replace(b"\r\n", b"\n").rstrip(b"\n")


def _inbound(world) -> dict[str, tuple]:
    with world["db"].session() as s:
        rows = s.execute(
            sa.text(
                "SELECT message_id, status, reason, subject, from_address, raw_sha256, date "
                "FROM inbound_messages"
            )
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def _import_replies(world, run, path: Path):
    result = run("responses", "import", path)
    assert "Traceback" not in result.output
    found = _inbound(world)
    assert found["<good@au.example>"][0] == "matched", found  # the rest came through
    return result, found


def test_deep_mime_is_queued_and_the_rest_imported(world, run):
    """Before: RecursionError traceback from the e-mail parser; nothing imported."""
    bad = b"From: sg@au.example\r\nSubject: Deep\r\nMessage-ID: <deep@au.example>\r\n"
    bad += _deep_mime(5_000)
    result, found = _import_replies(world, run, _mbox(world, bad, GOOD))
    status, reason, subject, sender, sha, _date = found["<deep@au.example>"]
    assert status == "unmatched" and "could not be read" in reason and "nested" in reason
    assert (subject, sender) == ("Deep", "sg@au.example")  # the headers are still shown
    assert "could not be read" in result.stderr and "replies.mbox#1" in result.stderr
    store = AttachmentStore.for_database(world["db"])
    assert _same_bytes(store.read(sha), bad)
    assert "Deep" in run("responses", "unmatched").stdout


def test_mime_nested_just_under_the_limit_is_imported(world, run):
    bad = b"From: sg@au.example\r\nSubject: Nested\r\nMessage-ID: <n50@au.example>\r\n"
    _result, found = _import_replies(world, run, _mbox(world, bad + _deep_mime(49), GOOD))
    assert found["<n50@au.example>"][0] == "matched"


@pytest.mark.parametrize(
    "date",
    [
        b"Fri, 31 Dec 9999 23:59:59 -1200",
        b"Mon, 01 Jan 0001 00:00:00 +1400",
        b"Mon, 01 Jan 0000 00:00:00 +0000",
        b"Tue, 99 Dec 99999 25:61:61 +9999",
    ],
)
def test_dates_out_of_range_do_not_stop_the_import(world, run, date):
    """Before: OverflowError traceback (year 9999 west of UTC); nothing imported."""
    bad = _mail(b"From: sg@au.example", b"Subject: Dated", b"Message-ID: <date@au.example>",
                b"Date: " + date)  # fmt: skip
    _result, found = _import_replies(world, run, _mbox(world, bad, GOOD))
    assert found["<date@au.example>"][0] == "matched"


NUL_MESSAGES = {
    "q-encoded subject": _mail(b"From: sg@au.example", b"Subject: =?utf-8?q?a=00b?="),
    "b-encoded subject": _mail(b"From: sg@au.example", b"Subject: =?utf-8?b?YQBi?="),
    "raw NUL in the subject": _mail(b"From: sg@au.example", b"Subject: a\x00b"),
    "encoded display name": _mail(b"From: =?utf-8?q?a=00b?= <sg@au.example>", b"Subject: ab"),
    "quoted-printable body": _mail(
        b"From: sg@au.example", b"Subject: ab", b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: quoted-printable", body=b"a=00b",
    ),
    "base64 body": _mail(
        b"From: sg@au.example", b"Subject: ab", b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: base64", body=base64.b64encode(b"a\x00b"),
    ),
    "raw NUL in the body": _mail(b"From: sg@au.example", b"Subject: ab", body=b"a\x00b"),
    "surrogate encoded word": _mail(b"From: sg@au.example", b"Subject: =?utf-8?b?7aCA?=ab"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(NUL_MESSAGES))
def test_nul_and_surrogates_in_mail_become_replacement_characters(world, run, name):
    """Before, on PostgreSQL: "PostgreSQL text fields cannot contain NUL (0x00)
    bytes" stopped the whole mailbox; on SQLite the NUL was stored."""
    bad = NUL_MESSAGES[name].replace(b"\r\n\r\n", b"\r\nMessage-ID: <nul@au.example>\r\n\r\n", 1)
    _result, found = _import_replies(world, run, _mbox(world, bad, GOOD))
    status, _reason, subject, sender, sha, _date = found["<nul@au.example>"]
    assert status == "matched"
    with world["db"].session() as s:
        summary = s.scalar(
            sa.text("SELECT summary FROM responses WHERE message_id = '<nul@au.example>'")
        )
    for text in (subject, sender, summary):
        assert "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)
    assert "\ufffd" in subject + sender + summary
    store = AttachmentStore.for_database(world["db"])
    raw = store.read(sha)
    assert _same_bytes(raw, bad)  # the bytes kept as they came


def test_nul_in_a_message_id_is_not_stored(world, run):
    bad = _mail(b"From: sg@au.example", b"Subject: id", b"Message-ID: <a\x00b@au.example>")
    _result, found = _import_replies(world, run, _mbox(world, bad, GOOD))
    (other,) = [k for k in found if k != "<good@au.example>"]
    assert other.startswith("<sha256.") and "\x00" not in other


@pytest.mark.parametrize(
    "bad",
    [
        _mail(b"From: sg@au.example", b"Subject: =?x-bogus?q?abc?=",
              b"Content-Type: text/plain; charset=x-bogus-charset", body=b"\xe9t\xe9"),
        _mail(b"From: sg@au.example", b"Subject: pad", b"Content-Transfer-Encoding: base64",
              body=b"YWJj=ZA"),
        _mail(b"From: sg@au.example", b"Subject: " + b"x" * 100_000, b"X-Long: " + b"y " * 50_000),
        _mail(b"From: sg@au.example", b"Subject: qp",
              b"Content-Transfer-Encoding: quoted-printable", body=b"=ZZ=E9=\r\n="),
    ],
    ids=["bogus charset", "bad base64 padding", "header over the line limit", "broken qp"],
)  # fmt: skip
def test_odd_encodings_are_imported(world, run, bad):
    bad = bad.replace(b"\r\n\r\n", b"\r\nMessage-ID: <odd@au.example>\r\n\r\n", 1)
    _result, found = _import_replies(world, run, _mbox(world, bad, GOOD))
    assert found["<odd@au.example>"][0] == "matched"


@pytest.mark.parametrize(
    "filename",
    [b"../../../../outside.pdf", b"a\x00b.pdf", b"..\\\\..\\\\win.ini", b"/etc/passwd",
     b"=?utf-8?q?..=2F..=2Fx=00y.pdf?=", b".."],
)  # fmt: skip
def test_attachment_names_stay_inside_the_store(world, run, filename):
    payload = b"%PDF-1.4 " + b"\x00" * 100_000
    body = (
        b"--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
        b'Content-Type: application/pdf; name="' + filename + b'"\r\n'
        b'Content-Disposition: attachment; filename="' + filename + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(payload) + b"--XX--\r\n"
    )
    bad = _mail(b"From: sg@au.example", b"Subject: file", b"Message-ID: <att@au.example>",
                b"Content-Type: multipart/mixed; boundary=XX", body=body)  # fmt: skip
    before = {p for p in world["tmp"].rglob("*")}
    _import_replies(world, run, _mbox(world, bad, GOOD))
    with world["db"].session() as s:
        name, sha = s.execute(sa.text("SELECT filename, sha256 FROM attachments")).one()
    assert "/" not in name and "\\" not in name and "\x00" not in name and name not in ("", "..")
    assert sha == hashlib.sha256(payload).hexdigest()
    new = {p for p in world["tmp"].rglob("*")} - before
    store = (world["tmp"] / "store").resolve()
    assert all(p.resolve().is_relative_to(store) or p.name == "replies.mbox" for p in new), new


def test_maildir_with_a_bad_message_imports_the_rest(world, run):
    box = world["tmp"] / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    bad = b"From: sg@au.example\r\nSubject: Deep\r\nMessage-ID: <deep@au.example>\r\n"
    (box / "new" / "1.M1P1.host").write_bytes(bad + _deep_mime(3_000))
    (box / "new" / "2.M2P2.host").write_bytes(GOOD)
    _result, found = _import_replies(world, run, box)
    assert "could not be read" in found["<deep@au.example>"][1]


def test_eml_that_cannot_be_read_is_queued(world, run):
    path = world["tmp"] / "deep.eml"
    head = b"From: sg@au.example\r\nMessage-ID: <deep@au.example>\r\n"
    path.write_bytes(head + _deep_mime(4_000))
    result = run("responses", "import", path)
    assert "could not be read" in result.stderr
    assert _inbound(world)["<deep@au.example>"][0] == "unmatched"
    again = run("responses", "import", path)  # safe to repeat
    assert "1 already imported" in again.stdout


def test_mbox_with_a_from_line_only(world, run):
    path = world["tmp"] / "empty.mbox"
    path.write_bytes(b"From MAILER-DAEMON Thu Mar 29 10:00:00 2012\n")
    result = run("responses", "import", path)
    assert "Traceback" not in result.output


# --- campaign variables ---------------------------------------------------------------------

CREATE = ("campaigns", "create", "vars", "--title", "Vars", "--template", "third-pillar")


@pytest.mark.parametrize(
    ("value", "expect_in"),
    [("a\x00b", "NUL"), ("\udcff", "0xFF"), ("\ud800", "surrogate")],
)
def test_set_variables_with_nul_or_surrogates_are_refused(world, run, value, expect_in):
    """Before, on PostgreSQL: a database error; a lone surrogate gave a
    UnicodeEncodeError traceback on both backends."""
    _refused(run, world["url"], *CREATE, "--set", f"note={value}", expect_in=expect_in)


VARS_FILES = {
    "laughs.yaml": "".join(
        f"{a}: &{a} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['lol'] * 9)}]\n"
        for p, a in zip(["", *"abcdefgh"], "abcdefghi", strict=False)
    ),
    "self.yaml": "a: &a [*a]\n",
    "deep.yaml": "a: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "deep.toml": "a = " + "[" * 10_000 + "]" * 10_000 + "\n",
    "nan.yaml": "a: .nan\n",
    "inf.toml": "a = inf\n",
    "python.yaml": "a: !!python/object/apply:os.system ['touch pwned']\n",
    "nul.yaml": 'a: "x\\0y"\n',
    "surrogate.yaml": 'a: "x\\ud800y"\n',
    "bigint.yaml": "a: " + "9" * 5_000 + "\n",
}


@pytest.mark.parametrize("name", list(VARS_FILES))
def test_hostile_variables_files_are_refused_quickly(world, run, name):
    """Before: the billion laughs ran out of time and memory, a list holding
    itself gave a RecursionError traceback, NaN reached the database."""
    path = world["tmp"] / name
    path.write_text(VARS_FILES[name], encoding="utf-8")
    started = time.perf_counter()
    _refused(run, world["url"], *CREATE, "--vars", path, expect_in=str(path))
    assert time.perf_counter() - started < 10
    assert not (world["tmp"] / "pwned").exists()


# --- backup archives --------------------------------------------------------------------------


@pytest.fixture
def good_archive(tmp_path):
    source = Database(tmp_path / "source.db", actor="amina")
    source.init()
    fill(source)
    archive = tmp_path / "good.zip"
    backup(source, archive)
    source.dispose()
    return archive


def _in_organizations(change):
    def apply(name: str, data: bytes) -> bytes:
        if name != "tables/organizations.jsonl":
            return data
        lines = data.decode().splitlines()
        lines[0] = change(lines[0])
        return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")

    return apply


def _name(value: str):
    def change(line: str) -> str:
        row = json.loads(line)
        row["name"] = "PLACEHOLDER"
        return json.dumps(row).replace('"PLACEHOLDER"', value)

    return change


HOSTILE_ROWS = {
    "lone surrogate": _name('"\\ud800"'),
    "nested 100000 deep": lambda line: "[" * 100_000 + "]" * 100_000,
    "integer of 5000 digits": _name("9" * 5_000),
    "wrong type": _name("[1, 2]"),
}


@pytest.mark.parametrize("damage", list(HOSTILE_ROWS))
def test_hostile_backup_rows_are_refused(world, run, good_archive, damage):
    """Before: RecursionError (deep line) or UnicodeEncodeError (surrogate)
    tracebacks."""
    bad = world["tmp"] / "bad.zip"
    _rewrite(good_archive, bad, _resealed(_in_organizations(HOSTILE_ROWS[damage])))
    result = _refused(run, world["url"], "restore", bad, "--force")
    assert result.stderr.count("\n") == 1


def test_nul_in_a_backup_row(world, run, good_archive):
    """PostgreSQL cannot hold it: refused naming the table (before: a bare
    driver error); SQLite holds it, so the archive restores."""
    bad = world["tmp"] / "nul.zip"
    _rewrite(good_archive, bad, _resealed(_in_organizations(_name('"a\\u0000b"'))))
    if BACKEND == "postgresql":
        _refused(run, world["url"], "restore", bad, "--force", expect_in="organizations")
    else:
        run("restore", bad, "--force")


def test_deep_manifest_is_refused(world, run, good_archive):
    bad = world["tmp"] / "deep-manifest.zip"
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    _rewrite(good_archive, bad, lambda name, data: deep if name == "manifest.json" else data)
    _refused(run, world["url"], "restore", bad, "--force", expect_in="manifest.json")
