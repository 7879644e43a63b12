"""File names made from user data are safe on Windows and macOS too.

Letter files (named after acronyms) and attachment names (from incoming mail
or the files a user attaches) never become a Windows device name (``CON``,
``con.txt``, ``nul.tar.gz``, ``COM¹``, ``CONIN$``... in any case, with or
without extension, with trailing dots or spaces), never hold characters
Windows refuses, never exceed 255 bytes, and letter files of one batch never
differ only by case.
"""

from __future__ import annotations

import os
import unicodedata
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.attachments import safe_filename
from outreach.files import WINDOWS_RESERVED, is_windows_reserved, portable_filename
from outreach.render import letter_stems, safe_stem
from outreach.schema.models import (
    Attachment,
    CampaignRecipient,
    Contact,
    Letter,
    Organization,
    OrgKind,
)

from ._letters_fixtures import seed

RESERVED_EXAMPLES = [
    "con.txt",
    "CON.pdf",
    "nul.tar.gz",
    "Com1.docx",
    "LPT9.eml",
    "aux",
    "prn.",
    "con .txt",
    "COM\u00b9",
    "lpt\u00b2.pdf",
    "Com\u00b3",
    "conin$",
    "CONOUT$.txt",
    "clock$",
    "NUL",
    "Aux.",
    "con. .txt",
    "com0.x",
    "PRN   ",
]
NOT_RESERVED = ["console.txt", "con-1.txt", "comx", "com10", "lpt", "nully", "a.con", "conin"]

INVALID_ON_WINDOWS = set('<>:"/\\|?*') | {chr(c) for c in range(32)} | {"\x7f"}


def _windows_device(name: str) -> bool:
    """An independent statement of the rule: Windows reads the part before the
    first dot, less trailing spaces and dots, case-insensitively."""
    base = name.split(".")[0].rstrip(" .").casefold()
    digits = "0123456789\u00b9\u00b2\u00b3"
    return base in {"con", "prn", "aux", "nul", "conin$", "conout$", "clock$"} or (
        len(base) == 4 and base[:3] in ("com", "lpt") and base[3] in digits
    )


def _assert_portable(name: str) -> None:
    assert name and name == name.strip(" .") and name not in (".", "..")
    assert not _windows_device(name), name
    assert not (set(name) & INVALID_ON_WINDOWS), name
    assert len(name.encode("utf-8")) <= 255, name
    assert Path(name).name == name


@pytest.mark.parametrize("name", RESERVED_EXAMPLES)
def test_reserved_names_are_recognised(name: str) -> None:
    assert is_windows_reserved(name)
    assert is_windows_reserved(name.upper()) and is_windows_reserved(name.lower())
    assert _windows_device(name)


@pytest.mark.parametrize("name", NOT_RESERVED)
def test_ordinary_names_are_not_reserved(name: str) -> None:
    assert not is_windows_reserved(name)


@pytest.mark.parametrize("name", RESERVED_EXAMPLES)
def test_no_letter_stem_is_a_device_name(name: str) -> None:
    stem = safe_stem(name, "org7")
    for ext in ("pdf", "docx", "eml", "md"):
        assert not _windows_device(f"{stem}.{ext}"), (name, stem)
        assert not _windows_device(f"{stem}-reminder1.{ext}")
    assert stem == "org7" or not _windows_device(stem)


@pytest.mark.parametrize("name", RESERVED_EXAMPLES)
def test_no_attachment_name_is_a_device_name(name: str) -> None:
    made = safe_filename(name)
    _assert_portable(made)
    assert name.strip(" .").lower() in made.lower()  # still recognisable: "_con.txt"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("...", "attachment"),
        (". .", "attachment"),
        ("", "attachment"),
        (None, "attachment"),
        ("report.pdf", "report.pdf"),
        ("R\u00e9ponse de l'UA.pdf", "R\u00e9ponse de l'UA.pdf"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
        ("../../etc/passwd", "passwd"),
        ("tab\there.txt", "tabhere.txt"),
        ("trailing dot. ", "trailing dot"),
        (".hidden", "hidden"),
    ],
)
def test_attachment_names(name: str | None, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.parametrize("unit", ["x", "\u00e9", "\u4e2d", "\U0001f600"])
def test_long_attachment_names_fit_in_255_bytes_and_keep_the_extension(unit: str) -> None:
    made = safe_filename(unit * 300 + ".pdf")
    assert len(made.encode("utf-8")) <= 255
    assert made.endswith(".pdf") and made.startswith(unit)
    made.encode("utf-8").decode("utf-8")  # never cut inside a character
    no_ext = safe_filename(unit * 300)
    assert len(no_ext.encode("utf-8")) <= 255 and no_ext.startswith(unit)


def _doc(acronym: str, org_id: int, round_: int = 0):
    from outreach.render.doc import LetterDoc

    doc = LetterDoc.__new__(LetterDoc)
    doc.acronym, doc.organization_id, doc.round = acronym, org_id, round_
    return doc


def test_letter_stems_are_unique_ignoring_case() -> None:
    names = ["Con.pdf", "con.pdf", "AU", "au", "Au", "AU-2", "au-2", "COM1", "nul.txt"]
    stems = letter_stems([_doc(n, i + 1) for i, n in enumerate(names)])
    assert len({s.casefold() for s in stems}) == len(stems), stems
    for stem in stems:
        _assert_portable(f"{stem}.pdf")


@settings(
    max_examples=int(os.environ.get("OUTREACH_HYPOTHESIS_EXAMPLES") or 150),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    names=st.lists(
        st.one_of(
            st.text(max_size=80),
            # device names dressed up: any case, extensions, trailing dots and spaces
            st.builds(
                lambda base, digit, case, tail: (
                    ((base + digit).upper() if case else (base + digit).lower()) + tail
                ),
                st.sampled_from(["con", "prn", "aux", "nul", "com", "lpt", "conin$", "clock$"]),
                st.sampled_from(["", "1", "9", "0", "\u00b9", "\u00b2", "\u00b3"]),
                st.booleans(),
                st.sampled_from(["", ".", " ", ". ", ".txt", " .pdf", ".tar.gz", "..eml"]),
            ),
            st.sampled_from(sorted(WINDOWS_RESERVED)),
        ),
        min_size=1,
        max_size=8,
    ),
    round_=st.integers(0, 2),
)
def test_file_names_are_portable_and_unique(names: list[str], round_: int) -> None:
    """Property: every letter file name and attachment name is never a Windows
    reserved device name, with or without extension, in any case; holds no
    character Windows refuses; fits in 255 bytes; letter stems of one batch
    differ ignoring case."""
    stems = letter_stems([_doc(n, i + 1, round_) for i, n in enumerate(names)])
    assert len({unicodedata.normalize("NFC", s).casefold() for s in stems}) == len(stems)
    for stem in stems:
        assert stem.isascii() and not stem.startswith(".") and ".." not in stem
        for ext in ("md", "txt", "html", "pdf", "docx", "eml"):
            _assert_portable(f"{stem}.{ext}")
    for name in names:
        _assert_portable(safe_filename(name))
        _assert_portable(portable_filename(name, "fallback"))


# -- through the command line, on the test backend ---------------------------------------


def _add_orgs_raw(db, acronyms: list[str]) -> None:
    """Organizations with these acronyms (bypassing the acronym checks and the
    case-insensitive uniqueness, as an old database or a direct edit could)."""
    with db.session() as s:
        campaign_id = s.scalar(sa.text("SELECT id FROM campaigns WHERE slug = 'tp'"))
        for i, acronym in enumerate(acronyms):
            org = Organization(acronym=f"tmp{i}", name=f"Device {i} {acronym}")
            s.add(org)
            s.flush()
            s.execute(
                sa.update(Organization)
                .where(Organization.id == org.id)
                .values(acronym=acronym, acronym_key=f"device-{i}-{acronym.casefold()}")
            )
            s.add(Contact(organization_id=org.id, name=f"Contact {i}", email=f"d{i}@dev.example"))
            s.add(CampaignRecipient(campaign_id=campaign_id, organization_id=org.id))


def test_letters_for_device_name_acronyms_get_portable_unique_files(db, run, tmp_path) -> None:
    seed(db)
    _add_orgs_raw(db, ["con.txt", "CON.pdf", "Con.pdf", "nul.tar.gz", "COM\u00b9", "LPT9.eml"])
    out = tmp_path / "letters"
    run("letters", "generate", "--campaign", "tp", "--out", out, "--format", "md,docx,eml")
    with db.session() as s:
        letters = s.scalar(sa.select(sa.func.count()).select_from(Letter))
        ids = [str(i) for i in s.scalars(sa.select(Letter.id))]
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == letters * 3
    assert len({f.casefold() for f in files}) == len(files), files
    for name in files:
        _assert_portable(name)
    again = tmp_path / "written"
    run("letters", "write", *ids, "--out", again, "--format", "pdf,eml")
    written = [p.name for p in again.iterdir()]
    assert len({f.casefold() for f in written}) == len(written) == letters * 2
    for name in written:
        _assert_portable(name)


def test_attachment_names_from_mail_and_files_are_portable(db, run, tmp_path) -> None:
    with db.session() as s:
        org = Organization(
            acronym="OAS", name="Organization of American States", kind=OrgKind.REGIONAL
        )
        s.add(org)
        s.flush()
        s.add(Contact(organization_id=org.id, name="Secretary-General", email="sg@oas.org"))
    msg = EmailMessage()
    msg["From"] = "sg@oas.org"
    msg["To"] = "secretariat@coalition.example"
    msg["Subject"] = "Our reply"
    msg["Message-ID"] = "<device-names@oas.org>"
    msg.set_content("Please find our reply attached.")
    hostile = ["con.txt", "CON .pdf", "nul.tar.gz", "COM\u00b9.docx", "a<b>|c?.txt", "...",
               "\u00e9" * 200 + ".pdf", "clock$"]  # fmt: skip
    for i, name in enumerate(hostile):
        msg.add_attachment(f"file {i}".encode(), maintype="application", subtype="octet-stream",
                           filename=name)  # fmt: skip
    eml = tmp_path / "reply.eml"
    eml.write_bytes(bytes(msg))
    env = {"OUTREACH_ATTACHMENTS_DIR": str(tmp_path / "store")}
    run("responses", "import", eml, env=env)
    attached = tmp_path / "LPT1.pdf"
    attached.write_bytes(b"%PDF-1.4 scanned")
    run("responses", "log", "--org", "OAS", "--summary", "By post", "--attach", attached, env=env)
    with db.session() as s:
        names = list(s.scalars(sa.select(Attachment.filename).order_by(Attachment.id)))
    assert len(names) == len(hostile) + 1, names
    for name in names:
        _assert_portable(name)
    assert "_con.txt" in names and "_LPT1.pdf" in names
