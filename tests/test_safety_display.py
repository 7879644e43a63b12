"""Stored text never drives what shows it: a Word document or a terminal.

* ``letters generate --format docx`` with control characters in the
  directory (stored before the door refused them, or written straight to the
  database): python-docx/lxml refuse them ("All strings must be XML
  compatible"); the renderer writes U+FFFD for every character XML 1.0
  forbids, so the document is made and opens.
* Tables, ``show`` records, messages and error lines show control
  characters (ESC/CSI sequences, OSC, BEL, a lone CR, C1 CSI U+009B), the
  line/paragraph separators and bidi controls as visible escapes (``\\x1b``),
  whether or not the output is a terminal. ``--format json`` keeps the exact
  data (escaped the JSON way, C1 and separators too), ``--format csv`` the
  exact data for programs.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.safetext import for_terminal, for_xml
from outreach.schema.models import Contact, Organization

from ._letters_fixtures import seed

#: Every C0 control but tab/LF/CR, DEL, some C1, separators, non-characters.
NASTY = "".join(chr(c) for c in range(0x20) if c not in (9, 10, 13)) + "\x7f\x85\x9b\ufffe\uffff"

#: What a stored name may hold to take over a terminal.
TERMINAL_ATTACKS = [
    "AU\x1b[2J\x1b[H",  # clear the screen
    "AU\x1b]0;owned\x07",  # set the window title (OSC ... BEL)
    "AU\x1b]52;c;ZWNobyBvd25lZA==\x07",  # write the clipboard
    "AU\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",  # hyperlink
    "Good name\rEvil",  # overwrite the line
    "AU\x9b2J",  # C1 CSI
    "AU\x07\x08\x08",  # bell, backspaces
    "AU\u2028Line",
    "AU\u202eEVIL",
]
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def raw_controls(text: str) -> list[str]:
    """Control characters in printed text (a lone CR counts; CR LF does not)."""
    return _RAW.findall(text.replace("\r\n", "\n")) + re.findall("\r", text.replace("\r\n", ""))


# --- Word documents ----------------------------------------------------------------


def test_docx_with_control_characters_in_every_field_is_written(db, run, tmp_path: Path):
    nasty = NASTY.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    seed(db)
    with db.session() as session:
        session.execute(
            sa.update(Organization)
            .where(Organization.acronym == "AU")
            .values(name=f"African{nasty}Union")
        )
        session.execute(
            sa.update(Contact)
            .where(Contact.name == "Secretary-General of AU")
            .values(
                name=f"Jane{nasty}Doe",
                position=f"Secretary{nasty}General",
                postal_address=f"Addis{nasty}Ababa\nEthiopia",
            )
        )
    out = tmp_path / "out"
    result = run("letters", "generate", "--campaign", "tp", "--out", out, "--format", "docx")
    assert "Traceback" not in result.output
    from docx import Document

    document = Document(str(out / "AU.docx"))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "African" in text and "Union" in text and "Jane" in text and "Addis" in text
    assert "\ufffd" in text
    with zipfile.ZipFile(out / "AU.docx") as z:
        xml = z.read("word/document.xml").decode("utf-8")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", xml)


def test_docx_renderer_strips_what_xml_forbids():
    from outreach.render.doc import LetterDoc
    from outreach.render.docx import to_docx

    doc = LetterDoc(
        acronym="AU",
        organization="African Union",
        contact="Jane",
        contact_email=None,
        language="en",
        subject=f"Subject{NASTY}line",
        body=f"Dear{NASTY}friends,\n\n**Bold{NASTY}** and *it{NASTY}alic*\n",
        channel="post",
        to_address=None,
        message_id="<1@x.example>",
        sender={},
        round=0,
        campaign="tp",
    )
    data = to_docx(doc)
    from docx import Document

    document = Document(io.BytesIO(data))
    assert document.core_properties.title.startswith("Subject")
    assert "Dear" in document.paragraphs[0].text
    assert for_xml("a\x00b\x1b\ufffe\ud800c\td\ne") == "a\ufffdb\ufffd\ufffd\ufffdc\td\ne"


# --- terminals ---------------------------------------------------------------------


@pytest.fixture
def hostile(db, run):
    """An organization and contacts whose names hold terminal attacks, written
    straight to the database (the door refuses them today)."""
    run("orgs", "add", "AU", "African Union")
    with db.session() as session:
        org = session.scalar(sa.select(Organization))
        org.name = TERMINAL_ATTACKS[0]
        org.tags = ["t\x1b[31mag"]
        for i, name in enumerate(TERMINAL_ATTACKS):
            session.add(
                Contact(
                    organization_id=org.id,
                    name=name,
                    email=f"c{i}@au.example",
                    position=f"P\x1b[1A{i}",
                )
            )
    return TERMINAL_ATTACKS


def test_tables_and_show_escape_control_characters(run, hostile):
    outputs = [
        run("orgs", "list"),
        run("orgs", "show", "AU"),
        run("contacts", "list"),
        run("contacts", "show", "c1@au.example"),
        run("contacts", "show", "c4@au.example"),
        run("contacts", "show", "c8@au.example"),
    ]
    for result in outputs:
        assert raw_controls(result.output) == [], result.output
        assert "Traceback" not in result.output
    listing = outputs[2].output
    assert "\\x1b[2J" in listing and "\\x9b2J" in listing and "\\x07" in listing
    assert "Good name\\x0dEvil" in listing and "\\u202eEVIL" in listing
    assert "\\x1b]0;owned\\x07" in outputs[3].output


def test_messages_and_errors_escape_stored_names(run, hostile):
    # an error that quotes a stored contact's name
    result = run("contacts", "add", "AU", "Someone", "--email", "c1@au.example", expect=1)
    assert "already belongs to AU\\x1b]0;owned\\x07" in result.stderr, result.stderr
    assert raw_controls(result.output) == []
    result = run("contacts", "remove", "c4@au.example", "--yes")
    assert "Good name\\x0dEvil" in result.output and raw_controls(result.output) == []
    result = run("contacts", "edit", "c5@au.example", "--position", "Envoy")
    assert raw_controls(result.output) == [] and "\\x1b[1A5" in result.output


def test_json_and_csv_keep_the_exact_data(run, hostile):
    result = run("contacts", "list", "--format", "json")
    assert raw_controls(result.output) == []  # escaped the JSON way, C1 too
    names = sorted(row["name"] for row in json.loads(result.output))
    assert names == sorted(hostile)
    result = run("contacts", "list", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert sorted(row["name"] for row in rows) == sorted(hostile)
    shown = json.loads(run("orgs", "show", "AU", "--format", "json").output)
    assert shown["name"] == hostile[0] and shown["tags"] == ["t\x1b[31mag"]


@pytest.mark.parametrize("text", TERMINAL_ATTACKS)
def test_for_terminal_leaves_nothing_a_terminal_acts_on(text):
    for multiline in (False, True):
        shown = for_terminal(text, multiline=multiline)
        assert raw_controls(shown) == []
        assert shown.replace("\\", "") != text  # something visible stands in
    assert for_terminal("línea 1\r\nlínea 2\tok", multiline=True) == "línea 1\r\nlínea 2\tok"
    assert for_terminal("a\nb") == "a\\x0ab"
    assert for_terminal("مرحبا\u200f ok") == "مرحبا\u200f ok"  # RLM is ordinary text
