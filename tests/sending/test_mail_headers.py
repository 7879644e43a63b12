"""No header can be smuggled into a letter, whatever Python runs outreach.

CPython builds without the CVE-2024-6923 fix (3.11.7 among them) decode an
RFC 2047 encoded word holding CR/LF (``=?utf-8?q?Jane=0D=0ABcc:_x@evil?=``)
and write the decoded line break out as a real one: a new ``Bcc:`` header.
Outreach builds every header made from data itself (outreach.sending.headers), so
the tests below read the bytes the SMTP server received without trusting the
standard library: the header lines are split by hand, every one must be
printable ASCII, the set of header names must be exactly the expected one,
the envelope must name exactly the intended recipient, and the decoded
display name / subject must be the literal text given (an encoded word in the
data stays literal). Raw control characters are refused: at the door
(imports, ``contacts add``/``edit``, ``orgs add``/``edit``, campaign options,
``--from-name``) with a one-line ``field: problem`` error and the database
unchanged, and again by the message builder (a letter already stored with
one fails with a clear note; nothing is sent for it).
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import unicodedata
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.schema.models import Contact, Letter, LetterStatus, Organization
from outreach.sending import LetterMail, MailIdentity, MessageError, build_message
from outreach.sending import envelope_recipients as rcpts
from outreach.sending.headers import encoded_words, mailbox, unstructured

from ..conftest import table_dump
from ..mailfixtures import SENDER, seed_campaign, smtp_server

EVIL = "x@evil.example"
INJECTED = f"Jane\r\nBcc: {EVIL}"

#: Encoded words that decode to a line break (and so to a header) on an
#: unpatched standard library, or look pre-encoded; all must stay literal.
ENCODED = [
    "=?utf-8?q?Jane=0D=0ABcc:_x@evil.example?=",
    "=?UTF-8?Q?Jane=0D=0ABcc:_x@evil.example?=",
    "=?utf-8?q?Jane=0ABcc:_x@evil.example?=",
    "=?utf-8?q?Jane=0DBcc:_x@evil.example?=",
    "=?utf-8?b?" + base64.b64encode(INJECTED.encode()).decode() + "?=",
    "=?UTF-8?B?" + base64.b64encode(INJECTED.encode()).decode() + "?=",
    "=?iso-8859-1?q?Jane=0D=0ABcc:_x@evil.example?=",
    "=?utf-8*en?q?Jane=0D=0ABcc:_x@evil.example?=",
    # nested: an encoded word whose text is an encoded word
    "=?utf-8?q?=3D=3Futf-8=3Fq=3FJane=3D0D=3D0ABcc:_x@evil.example=3F=3D?=",
    # split over two adjacent encoded words
    "=?utf-8?q?Jane?= =?utf-8?q?=0D=0ABcc:_x@evil.example?=",
    '"=?utf-8?q?Jane=0D=0ABcc:_x@evil.example?="',
    "=?utf-8?q?Jane=00=1B=07?=",
    "=?utf-8?q?Jane=C2=85Bcc:_x@evil.example?=",
    "=?utf-8?q?Jane=E2=80=A8Bcc:_x@evil.example?=",
    "Dr =?utf-8?q?Jane?= Doe",
]
#: Plain text a careless builder would turn into more addresses.
SPECIALS = [
    f"Jane <{EVIL}>, y@evil.example",
    'Jane "the boss" Doe, Bcc: x@evil.example',
    "Jane \\",
    "Jane; Bcc: x@evil.example",
    "\u202eJane\u202c",  # bidi override: not a control character, encoded
    "Amal Haddad — الأمين العام",
]
#: Raw control characters and line breaks: refused.
RAW = [
    INJECTED,
    f"Jane\rBcc: {EVIL}",
    f"Jane\nBcc: {EVIL}",
    "Jane\r\n Doe",
    "Jane\x00",
    "Jane\x1b[2J\x1b]0;owned\x07",
    "Jane\x07",
    "Jane\x0bBcc: x@evil.example",
    "Jane\x0cBcc: x@evil.example",
    "Jane\x85Bcc: x@evil.example",
    "Jane\u2028Bcc: x@evil.example",
    "Jane\u2029Bcc: x@evil.example",
    "Jane\x9b2J",
    "Jane\x7f",
    "Jane\x1cBcc: x@evil.example",
    "Jane\tDoe",
    "=?utf-8?q?Jane?=\r\nBcc: x@evil.example",
    "=?utf-8?q?Jane?=\x00",
]
LITERAL = ENCODED + SPECIALS


def raw_controls(text: str) -> list[str]:
    """Control characters a terminal would act on, in printed text."""
    return [
        c
        for c in text.replace("\r\n", "\n")
        if c != "\n"
        and not c.isprintable()
        and (unicodedata.category(c) == "Cc" or c in "\u2028\u2029\u202e")
    ]


def refused(value: str) -> bool:
    return any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in value)


def header_names(raw: bytes) -> list[str]:
    """The header names of *raw*, read by hand: every line must be printable
    ASCII and end in CRLF, a continuation line must start with a space."""
    head, sep, _ = raw.partition(b"\r\n\r\n")
    assert sep, "no end of headers"
    names = []
    for line in head.split(b"\r\n"):
        assert all(0x20 <= b < 0x7F for b in line), f"unsafe header line {line!r}"
        assert len(line) <= 998
        if line[:1] == b" ":
            assert names, "continuation line first"
            continue
        name, colon, _ = line.partition(b":")
        assert colon, f"not a header line: {line!r}"
        names.append(name.decode("ascii"))
    return names


def raw_header(raw: bytes, name: str) -> str:
    """The unfolded value of header *name*, read by hand."""
    head = raw.partition(b"\r\n\r\n")[0].decode("ascii")
    for field in head.replace("\r\n ", " ").split("\r\n"):
        key, _, value = field.partition(": ")
        if key == name:
            return value
    raise AssertionError(f"no {name} header")


def display_name(raw: bytes, name: str, parsed_name: str) -> str:
    """The display name a mail program shows. The standard library's address
    parser keeps the space between two encoded words of a phrase, which RFC
    2047 (6.2) says to drop; for those the compliant legacy decoder is used."""
    from email.header import decode_header, make_header

    phrase = raw_header(raw, name).rpartition(" <")[0].strip()
    if phrase.startswith("=?"):
        return str(make_header(decode_header(phrase)))
    return parsed_name


PLAIN_HEADERS = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Language",
}
#: A letter's e-mail as sent: the cover note with the letter attached (multipart/mixed).
SENT_HEADERS = PLAIN_HEADERS - {"Content-Transfer-Encoding"}


def mail(**kw) -> LetterMail:
    values = dict(
        letter_id=1,
        organization_id=1,
        acronym="AU",
        contact_name="Jane Doe",
        to_address="jane@au.example",
        subject="Informal interactive dialogue",
        body="Your Excellency,\n\nHello.\n",
        language="en",
    )
    values.update(kw)
    return LetterMail(**values)


IDENTITY = MailIdentity(from_address=SENDER, from_name="Coalition secretariat")


def check_message(msg, *, to_name: str, subject: str, from_name: str, extra=()) -> None:
    raw = msg.as_bytes()
    names = header_names(raw)
    assert sorted(names) == sorted(PLAIN_HEADERS | set(extra)), names
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    (to,) = parsed["To"].addresses
    assert to.addr_spec == "jane@au.example"
    assert display_name(raw, "To", to.display_name) == to_name.strip()
    (sender,) = parsed["From"].addresses
    assert sender.addr_spec == SENDER
    assert display_name(raw, "From", sender.display_name) == from_name.strip()
    assert str(parsed["Subject"]) == subject.strip()
    assert rcpts(msg, IDENTITY) == ["jane@au.example"]


# --- the message builder ---------------------------------------------------------


@pytest.mark.parametrize("value", LITERAL)
def test_encoded_words_and_specials_in_data_stay_literal_text(value):
    for html in (False, True):
        msg = build_message(
            mail(contact_name=value, subject=value), IDENTITY, message_id="<1@x.example>", html=html
        )
        if not html:
            check_message(msg, to_name=value, subject=value, from_name=IDENTITY.from_name)
        else:
            names = header_names(msg.as_bytes())
            assert "Bcc" not in names and names.count("To") == 1
        identity = MailIdentity.__new__(MailIdentity)  # the builder does not trust the door
        for k, v in vars(IDENTITY).items():
            object.__setattr__(identity, k, v)
        object.__setattr__(identity, "from_name", value)
        msg = build_message(mail(), identity, message_id="<1@x.example>")
        check_message(msg, to_name="Jane Doe", subject=mail().subject, from_name=value)


@pytest.mark.parametrize("value", RAW)
@pytest.mark.parametrize("field", ["contact_name", "subject"])
def test_control_characters_are_refused_by_the_builder(value, field):
    with pytest.raises(MessageError, match="refused"):
        build_message(mail(**{field: value}), IDENTITY, message_id="<1@x.example>")


@pytest.mark.parametrize("value", RAW)
def test_control_characters_in_the_sender_name_are_refused(value):
    identity = MailIdentity.__new__(MailIdentity)
    for k, v in vars(IDENTITY).items():
        object.__setattr__(identity, k, v)
    object.__setattr__(identity, "from_name", value)
    with pytest.raises(MessageError, match="refused"):
        build_message(mail(), identity, message_id="<1@x.example>")


@pytest.mark.parametrize(
    "message_id",
    [
        "<a\x00b@x.example>",
        "<a\x1b@x.example>",
        "<a@x.example>\r\nBcc: x@evil.example",
        "<a b@x.example>",
        "<a@x.example\x85>",
        "<é@x.example>",
        "a@x.example",
    ],
)
def test_message_ids_must_be_plain(message_id):
    with pytest.raises(MessageError, match="not a Message-ID"):
        build_message(mail(), IDENTITY, message_id=message_id)
    # a hostile In-Reply-To (from a stored letter) is left out, never written
    msg = build_message(mail(in_reply_to=message_id), IDENTITY, message_id="<1@x.example>")
    assert set(header_names(msg.as_bytes())) == PLAIN_HEADERS


def test_threading_headers_are_written_as_given():
    msg = build_message(
        mail(in_reply_to="<first.1@coalition.example>"), IDENTITY, message_id="<2@x.example>"
    )
    names = header_names(msg.as_bytes())
    assert sorted(names) == sorted(PLAIN_HEADERS | {"In-Reply-To", "References"})
    assert msg["References"] == "<first.1@coalition.example>"


@pytest.mark.parametrize(
    "address",
    ["jane\x00@au.example", "jane@au.example\x1b", "ja\x07ne@au.example", "jane@au\x85.example"],
)
def test_control_characters_in_addresses_are_refused(address):
    with pytest.raises(MessageError):
        build_message(mail(to_address=address), IDENTITY, message_id="<1@x.example>")


_PIECE = st.one_of(
    st.sampled_from(list('=?_ qQbB:<>,;"\\@\r\n\t\x00\x1b\x07\x85\u2028\u202e')),
    st.sampled_from(["=?utf-8?q?", "=?UTF-8?B?", "?=", "=0D=0A", "DQo=", "Bcc: x@evil.example"]),
    st.characters(codec="utf-8"),
)
_TEXT = st.lists(_PIECE, min_size=1, max_size=25).map("".join).filter(lambda s: s.strip())


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(name=_TEXT, subject=_TEXT)
def test_any_name_and_subject_make_one_safe_message_or_a_clean_refusal(name, subject):
    try:
        msg = build_message(
            mail(contact_name=name, subject=subject), IDENTITY, message_id="<1@x.example>"
        )
    except MessageError as exc:
        assert refused(name) or refused(subject), exc
        return
    assert not refused(name) and not refused(subject)
    check_message(msg, to_name=name, subject=subject, from_name=IDENTITY.from_name)


@pytest.mark.parametrize("text", ["a" * 300, "é" * 200, "=?" * 100, "مرحبا " * 40])
def test_long_values_fold_within_the_line_limit(text):
    for name, value in (
        ("Subject", unstructured("Subject", text, "s")),
        ("To", mailbox("To", text, "a@b.example", "t")),
    ):
        lines = f"{name}: {value}".split("\r\n")
        assert all(len(line) <= 78 for line in lines), lines
    assert all(len(w) <= 75 for w in encoded_words(text))


def test_the_eml_file_is_as_safe(tmp_path):
    from outreach.errors import ValidationError
    from outreach.render.doc import LetterDoc
    from outreach.safetext import text_problem
    from outreach.sending.eml import to_eml

    for value in LITERAL:
        # The .eml file is the message a send would hand over: its sender is a
        # MailIdentity, whose door refuses an encoded word in the name (as a
        # send does); such a name stays out, and the file is refused.
        sender_name = value if text_problem(value) is None else None
        doc = LetterDoc(
            acronym="AU",
            organization="African Union",
            contact=value,
            contact_email="jane@au.example",
            language="en",
            subject=value,
            body="Hello.",
            channel="email",
            to_address="jane@au.example",
            message_id="<1@x.example>",
            sender={"email": SENDER, "name": value},
            round=0,
            campaign="tp",
        )
        if sender_name is None:
            with pytest.raises(ValidationError, match=r"^AU: the sender identity is not usable"):
                to_eml(doc)
            doc.sender = {"email": SENDER, "name": "Coalition"}
        raw = to_eml(doc)
        names = header_names(raw)
        assert sorted(names) == sorted(
            {
                "From",
                "To",
                "Subject",
                "Date",
                "Message-ID",
                "MIME-Version",
                "Content-Type",
                "Content-Language",
            }
        ), names
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        (to,) = parsed["To"].addresses
        (sender,) = parsed["From"].addresses
        assert display_name(raw, "To", to.display_name) == value.strip()
        from_name = (sender_name or "Coalition").strip()
        assert display_name(raw, "From", sender.display_name) == from_name
        assert str(parsed["Subject"]) == value.strip()

    for value in RAW:
        doc.contact = value
        with pytest.raises(ValidationError, match=r"^AU: the recipient name contains"):
            to_eml(doc)


# --- sending to a real SMTP server -----------------------------------------------


@pytest.fixture
def smtp():
    yield from smtp_server()


def test_hostile_stored_names_and_subjects_never_reach_the_server_as_headers(db, run, smtp):
    """Letters stored before the door existed (or written straight to the
    database): each literal variant is sent with exactly one RCPT and the
    expected headers; each raw control character fails that letter only."""
    stored = [v for v in RAW if "\x00" not in v]  # PostgreSQL text cannot hold NUL
    cases = [(v, "Informal dialogue") for v in LITERAL] + [("Jane", v) for v in LITERAL]
    cases += [(v, "Informal dialogue") for v in stored] + [("Jane", v) for v in stored]
    ids = seed_campaign(db, letters=len(cases), sender={"email": SENDER, "name": "Coalition"})
    expected: dict[str, tuple[str, str]] = {}
    failing: set[int] = set()
    with db.session() as session:
        letters = session.scalars(
            sa.select(Letter).where(Letter.id.in_(ids["letters"])).order_by(Letter.id)
        ).all()
        for letter, (name, subject) in zip(letters, cases, strict=True):
            session.execute(
                sa.update(Contact).where(Contact.id == letter.contact_id).values(name=name)
            )
            letter.subject = subject
            if refused(name) or refused(subject):
                failing.add(letter.id)
            else:
                expected[letter.to_address] = (name, subject)
    result = run("letters", "send", "--campaign", "iid-2012", "--send", *smtp.argv(), expect=3)
    received = smtp.recorder.received
    assert len(received) == len(expected)
    for r in received:
        to = r.rcpt_tos
        assert len(to) == 1 and to[0] in expected  # one RCPT, the intended one
        names = header_names(r.data)
        assert "Bcc" not in names and sorted(names) == sorted(SENT_HEADERS), names
        msg = r.message
        name, subject = expected[to[0]]
        (addressee,) = msg["To"].addresses
        assert display_name(r.data, "To", addressee.display_name) == name.strip()
        assert addressee.addr_spec == to[0]
        assert str(msg["Subject"]) == subject.strip()
        assert msg["From"].addresses[0].display_name == "Coalition"
    assert EVIL not in " ".join(a for r in received for a in r.rcpt_tos)
    with db.session() as session:
        rows = session.execute(
            sa.select(Letter.id, Letter.status, Letter.error).where(Letter.id.in_(ids["letters"]))
        ).all()
    for letter_id, status, error in rows:
        if letter_id in failing:
            assert status == LetterStatus.FAILED and "refused" in (error or "")
        else:
            assert status == LetterStatus.SENT
    assert "Traceback" not in result.output
    assert "\x1b" not in result.output and "\x00" not in result.output


@pytest.mark.parametrize(
    "name",
    ["=?utf-8?q?Sec=0D=0ABcc:_x@evil.example?=", "Sec\x1b[2J", f"Sec\r\nBcc: {EVIL}", "Sec\u202e"],
)
def test_a_hostile_sender_name_is_refused_before_anything_is_sent(db, run, smtp, name):
    seed_campaign(db, letters=2)
    result = run(
        "letters",
        "send",
        "--campaign",
        "iid-2012",
        "--send",
        "--from-name",
        name,
        *smtp.argv(),
        expect=1,
    )
    assert "From name:" in result.stderr and "Traceback" not in result.output
    assert smtp.recorder.count() == 0
    with db.session() as session:
        statuses = set(session.scalars(sa.select(Letter.status)))
    assert statuses == {LetterStatus.APPROVED}


# --- the door: imports, add, edit, campaign options --------------------------------

#: Refused at the door (a one-line field error, nothing stored).
DOOR_REFUSED = [
    "=?utf-8?q?Jane=0D=0ABcc:_x@evil.example?=",
    "=?UTF-8?B?" + base64.b64encode(INJECTED.encode()).decode() + "?=",
    "Jane =?iso-8859-1?q?x?=",
    "Jane\x00Doe",
    "Jane\x1b[2J",
    "Jane\x07Doe",
    "Jane\x9b2J",
    "Jane\x7fDoe",
    "Jane\x1cDoe",
    "Jane\x08Doe",
    "Jane\x1b]0;owned\x07",
    "\u202eJane",
    "Jane\u2066x\u2069",
]
#: Folded into one line at the door (a spreadsheet cell with a line break).
DOOR_FOLDED = [
    INJECTED,
    f"Jane\rBcc: {EVIL}",
    f"Jane\nBcc: {EVIL}",
    "Jane\x0bDoe",
    "Jane\x0cDoe",
    "Jane\x85Doe",
    "Jane\u2028Doe",
    "Jane\u2029Doe",
    "Jane\tDoe",
]


def _csv(path: Path, names: list[str]) -> dict[str, int]:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["organization", "name", "email"])
        w.writerow(["AU", "Good Person", "good@au.example"])
        for i, name in enumerate(names):
            w.writerow(["AU", name, f"bad{i}@au.example"])
    return {name: i + 3 for i, name in enumerate(names)}


def _json(path: Path, names: list[str]) -> dict[str, int]:
    rows = [{"organization": "AU", "name": "Good Person", "email": "good@au.example"}]
    rows += [
        {"organization": "AU", "name": name, "email": f"bad{i}@au.example"}
        for i, name in enumerate(names)
    ]
    path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return {name: 7 + 5 * i for i, name in enumerate(names)}  # each object's first line


def _vcard(path: Path, names: list[str]) -> dict[str, int]:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{}\r\nORG:AU\r\nEMAIL:{}\r\nEND:VCARD\r\n"
    text = card.format("Good Person", "good@au.example")
    text += "".join(card.format(name, f"bad{i}@au.example") for i, name in enumerate(names))
    path.write_text(text, encoding="utf-8")
    return {name: 7 + 6 * i for i, name in enumerate(names)}  # each card's BEGIN line


@pytest.fixture
def au(run):
    run("orgs", "add", "AU", "African Union")


@pytest.mark.parametrize("fmt", ["csv", "json", "vcf"])
def test_imports_refuse_hostile_names_with_a_row_and_field(run, db_url, tmp_path, au, fmt):
    """One file, one bad row per variant: each is named as ``file:line:
    field: what is wrong``, escaped, and nothing is imported."""
    # a vCard line cannot carry NUL, and its reader splits lines at U+001C
    # (an unreadable card: the importer's own robustness tests)
    names = [n for n in DOOR_REFUSED if fmt != "vcf" or not set(n) & set("\x00\x1c")]
    path = tmp_path / f"contacts.{fmt}"
    lines = {"csv": _csv, "json": _json, "vcf": _vcard}[fmt](path, names)
    before = table_dump(db_url)
    result = run("contacts", "import", path, expect=1)
    errors = result.stderr.strip().splitlines()
    assert len(errors) == len(names) + 1  # a line per row, then the summary
    assert errors[-1].startswith(f"Error: {path}: {len(names)} ")
    for line in lines.values():
        field = "FN" if fmt == "vcf" else "name"
        want = f"{path}:{line}: {field}: contains "
        assert any(e.startswith(want) for e in errors), (want, errors)
    assert "Traceback" not in result.output
    assert raw_controls(result.stderr) == []
    assert table_dump(db_url) == before


def test_imports_fold_line_breaks_in_names(run, db, tmp_path, au):
    names = [f"{name} {i}" for i, name in enumerate(DOOR_FOLDED)]
    _csv(tmp_path / "c.csv", names)
    run("contacts", "import", tmp_path / "c.csv")
    with db.session() as session:
        stored = dict(session.execute(sa.select(Contact.email, Contact.name)).all())
    for i, name in enumerate(names):
        assert stored[f"bad{i}@au.example"] == " ".join(name.split())
        assert stored[f"bad{i}@au.example"].isprintable()


def test_contacts_and_orgs_add_and_edit_refuse_hostile_names(run, db_url, au):
    run("contacts", "add", "AU", "Jane Doe", "--email", "jane@au.example")
    before = table_dump(db_url)
    for name in DOOR_REFUSED:
        for argv in (
            ("contacts", "add", "AU", name, "--email", "other@au.example"),
            ("contacts", "edit", "jane@au.example", "--name", name),
            ("contacts", "edit", "jane@au.example", "--position", name),
            ("orgs", "add", "EVIL", name),
            ("orgs", "add", name, "Evil organization"),
            ("orgs", "edit", "AU", "--name", name),
            ("orgs", "edit", "AU", "--hq-city", name),
            ("orgs", "edit", "AU", "--tag", "ok", "--tag", name),
        ):
            result = run(*argv, expect=1)
            assert ": contains " in result.stderr, (argv, result.stderr)
            assert "Traceback" not in result.output and raw_controls(result.stderr) == []
            assert len(result.stderr.strip().splitlines()) == 2  # field, then summary
    assert table_dump(db_url) == before


def test_campaign_options_feeding_headers_refuse_hostile_text(run, db_url):
    run("campaigns", "create", "tp", "--title", "Third pillar")
    before = table_dump(db_url)
    for value in DOOR_REFUSED:
        for option, field in (
            ("--sender-name", "sender name"),
            ("--sender-organization", "sender organization"),
            ("--signatory", "signatory"),
            ("--title", "title"),
        ):
            argv = ["campaigns", "create", "tp2", "--title", "Third pillar", option, value]
            result = run(*argv, expect=1)
            assert f"{field}: contains " in result.stderr, (option, result.stderr)
            result = run("campaigns", "edit", "tp", option, value, expect=1)
            assert f"{field}: contains " in result.stderr, (option, result.stderr)
        if "=?" not in value:
            # template variables may be several lines and quote anything, but
            # never hold control characters
            result = run("campaigns", "edit", "tp", "--set", f"who={value}", expect=1)
            assert "--set: who: contains " in result.stderr
        result = run("dialogues", "add", "ga-2012", "--title", value, expect=1)
        assert "title: contains " in result.stderr
    assert table_dump(db_url) == before


def test_the_stored_values_stay_exact_when_the_door_lets_them_in(run, db):
    run("orgs", "add", "AU", "African Union")
    run("contacts", "add", "AU", 'Jane "the boss" Doe, <x@evil.example>', "--email", "j@au.example")
    run("campaigns", "create", "tp", "--title", "Third pillar", "--set", "x=a =?utf-8?q?b?= c")
    with db.session() as session:
        assert session.scalar(sa.select(Contact.name)) == 'Jane "the boss" Doe, <x@evil.example>'
        assert session.scalar(sa.select(Organization.name)) == "African Union"
