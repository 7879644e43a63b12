"""Hostile input: whatever a file, a variable or a template holds, outreach
either does the job or stops with a clean one-line error, and a refused input
leaves the database exactly as it was.

* Property tests (Hypothesis) feed the importers (contacts from CSV, JSON and
  vCard; replies from mbox and .eml) with generated files, well-formed,
  malformed and pure noise, through the real command line.
* Template variables given with ``campaigns create --set`` are data: they are
  printed as they are, never evaluated as template code.
* Templates run in a sandbox: Python internals, the environment and the file
  system outside the template folders stay out of reach (a list of known
  escapes, plus generated attribute chains).
* File names made from user data (acronyms) never leave ``--out DIR``.

Each property test prints how many examples it ran.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.campaigns import create_campaign
from outreach.errors import OutreachError
from outreach.letters import generate, preview
from outreach.models import Letter, Organization
from outreach.render import letter_stems, safe_stem
from outreach.templating import make_environment

from ._letters_fixtures import ORGS, seed
from .conftest import BACKEND, table_dump

pytestmark = pytest.mark.slow

#: Examples per property; raise it for a deeper run (OUTREACH_HYPOTHESIS_EXAMPLES=2000).
EXAMPLES = int(os.environ.get("OUTREACH_HYPOTHESIS_EXAMPLES") or 150)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis folder in the checkout
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
ENV_SECRET = "env-secret-7f3a2c"
FILE_SECRET = "file-secret-91c2e4"
#: What must never show in a letter: the secrets, or Python's classes, modules and
#: namespaces. (A method's repr, "<built-in method items ...>", or the type alias
#: ``dict['__builtins__']`` that ``{{ dict.__builtins__ }}`` makes, is harmless text.)
LEAKS = (ENV_SECRET, FILE_SECRET, "<class", "<module", "'__builtins__':", "'__name__':")


@pytest.fixture
def world(db, db_url, tmp_path, monkeypatch):
    """The letters fixtures' five organizations and campaign ``tp``, an
    attachments store of this test's own, and a secret in the environment and
    in a file beside (outside) the template folder."""
    seed(db)
    monkeypatch.setenv("OUTREACH_ATTACHMENTS_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("OUTREACH_HOSTILE_SECRET", ENV_SECRET)
    (tmp_path / "outside-secret.txt").write_text(FILE_SECRET, encoding="utf-8")
    return {"db": db, "url": db_url, "tmp": tmp_path, "n": itertools.count()}


class Outcome:
    """Runs commands and checks each result: success, or a clean error that
    changed nothing."""

    def __init__(self, run, url: str) -> None:
        self.run, self.url = run, url
        self.before = table_dump(url)
        self.counts = {"ok": 0, "refused": 0}

    def __call__(self, *args: object):
        result = self.run(*args, expect=None)  # raises on any escaped exception
        assert result.exit_code in (0, 1), (result.exit_code, result.output)
        assert "Traceback" not in result.output
        if result.exit_code == 0:
            self.counts["ok"] += 1
            self.before = table_dump(self.url)
        else:
            self.counts["refused"] += 1
            lines = result.stderr.rstrip().splitlines()
            assert lines and lines[-1].startswith("Error: "), result.stderr
            assert table_dump(self.url) == self.before, "a refused input changed the database"
        return result

    def report(self, what: str) -> None:
        total = self.counts["ok"] + self.counts["refused"]
        print(
            f"\n[{BACKEND}] {what}: {total} Hypothesis examples "
            f"({self.counts['ok']} imported, {self.counts['refused']} refused cleanly)"
        )


# --- strategies -------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "AU",
    "au",
    "OAS",
    "NOPE",
    "sg@au.example",
    "SG@AU.EXAMPLE",
    "not an e-mail",
    "a@b",
    "fr",
    "xx-YY",
    "person",
    "office",
    "yes",
    "no",
    '=HYPERLINK("http://x")',
    "+1 212 555 0100",
    "\x00",
    "\ufeff",
    "\u202e",
    "'; DROP TABLE contacts; --",
    "{{ 7*7 }}",
    "a" * 400,
    "مكتب الأمين العام",
    "Secrétariat général",
    "1e400",
    "-1",
    "null",
]
cell = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
CONTACT_FIELDS = [
    "organization",
    "Organisation",
    "org",
    "organization_name",
    "name",
    "Name",
    "position",
    "email",
    "E-mail",
    "language",
    "kind",
    "salutation",
    "phone",
    "tags",
    "do_not_contact",
    "postal_address",
    "notes",
    "is_primary",
    "id",
]
header_name = st.one_of(st.sampled_from(CONTACT_FIELDS), st.text(max_size=12))


@st.composite
def csv_files(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    header = draw(st.lists(header_name, min_size=1, max_size=7))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 1), max_size=6))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=draw(st.sampled_from([",", ";", "\t"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = buf.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="replace")


json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), cell)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def json_files(draw) -> bytes:
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.binary(max_size=300))
    if choice == 1:
        return json.dumps(draw(json_value)).encode()
    records = draw(
        st.lists(
            st.dictionaries(
                st.one_of(st.sampled_from(CONTACT_FIELDS), st.text(max_size=8)),
                st.one_of(json_scalar, json_value),
                max_size=7,
            ),
            max_size=5,
        )
    )
    data = records if draw(st.booleans()) else {"contacts": records}
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 5)) == 0:  # cut short
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode("utf-8")


VCARD_PROPS = ["FN", "N", "EMAIL", "ORG", "TITLE", "LANG", "TEL", "ADR", "NOTE", "X-ORG", "UID"]
line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=30,
)


good_value = {
    "FN": st.one_of(
        st.sampled_from(["Amina Diallo", "Office of the Secretary-General"]), line_text
    ),
    "ORG": st.sampled_from(["AU", "OAS;Department of International Law", "NOPE", "", "GCC"]),
    "EMAIL": st.one_of(st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True), line_text),
    "LANG": st.sampled_from(["fr", "ar", "xx-YY", "", "english"]),
}


EMAIL_RE = r"[a-z]{1,8}@[a-z]{1,8}[.]example"


@st.composite
def vcard_files(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    cards = []
    clean_file = draw(st.integers(0, 2)) == 0
    for _ in range(draw(st.integers(0, 3))):
        if clean_file or draw(st.booleans()):  # a clean card, as an address book exports it
            cards.append(
                "\r\n".join(
                    [
                        "BEGIN:VCARD",
                        "VERSION:3.0",
                        f"FN:{draw(st.sampled_from(['Amina Diallo', 'Office of the SG', 'مكتب']))}",
                        f"ORG:{draw(st.sampled_from(['AU', 'GCC', 'OAS']))}",
                        f"EMAIL:{draw(st.from_regex(EMAIL_RE, fullmatch=True))}",
                        f"TITLE:{draw(line_text)}",
                        "END:VCARD",
                    ]
                )
            )
            continue
        version = draw(
            st.sampled_from(["VERSION:3.0", "VERSION:4.0", "VERSION:3.0", "", "VERSION:x"])
        )
        lines = ["BEGIN:VCARD", version]
        for prop, values in good_value.items():  # mostly well-formed cards...
            if draw(st.integers(0, 4)):
                lines.append(f"{prop}:{draw(values)}")
        for _ in range(draw(st.integers(0, 4))):  # ...with odd extras
            prop = draw(
                st.one_of(
                    st.sampled_from(VCARD_PROPS), st.from_regex(r"[A-Z]{1,6}", fullmatch=True)
                )
            )
            params = draw(
                st.sampled_from(
                    ["", ";TYPE=work", ";CHARSET=UTF-8", ";ENCODING=QUOTED-PRINTABLE", ";;"]
                )
            )
            value = draw(st.one_of(st.sampled_from(NASTY), line_text)).replace("\n", " ")
            lines.append(f"{prop}{params}:{value}")
        if draw(st.integers(0, 5)):
            lines.append("END:VCARD")
        cards.append("\r\n".join(lines))
    return ("\r\n".join(cards) + "\r\n").encode("utf-8", errors="replace")  # fmt: skip


header_value = st.one_of(
    st.sampled_from(
        [
            "sg@au.example",
            "Office <sg@oas.example>",
            "<not-an-address",
            "=?utf-8?b?2KfZhNij2YXZitmG?= <sg@las.example>",
            "=?bogus?q?broken?=",
            "",
            "<x@y>",
            "Thu, 29 Mar 2012 10:00:00 +0000",
            "yesterday",
            "Mon, 99 Foo 12345 99:99:99 +9999",
        ]
    ),
    line_text,
)


@st.composite
def mail_bytes(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    headers = []
    for name in ["From", "To", "Subject", "Message-ID", "Date", "In-Reply-To", "References",
                 "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted"]:  # fmt: skip
        if draw(st.integers(0, 3)):
            value = draw(header_value)
            if name == "Content-Type":
                value = draw(st.sampled_from(
                    ["text/plain; charset=utf-8", "text/plain; charset=x-unknown",
                     "multipart/mixed; boundary=XX", "multipart/mixed", "application/pdf",
                     "text/html", value]))  # fmt: skip
            if name == "Content-Transfer-Encoding":
                value = draw(st.sampled_from(["base64", "quoted-printable", "8bit", value]))
            headers.append(f"{name}: {value}")
    body = draw(st.one_of(st.text(max_size=200), st.sampled_from(
        ["--XX\r\nContent-Type: application/pdf; name=\"../../etc/passwd\"\r\n"
         "Content-Disposition: attachment; filename=\"../../../x.pdf\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK!!!\r\n--XX--\r\n",
         "=E9t=C3=A9 =\r\n", "@@@@ not base64 @@@@"])))  # fmt: skip
    data = "\r\n".join(headers) + "\r\n\r\n" + body
    return data.encode(draw(st.sampled_from(["utf-8", "latin-1"])), errors="replace")


@st.composite
def mbox_files(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        out += b"From MAILER-DAEMON Thu Mar 29 10:00:00 2012\n"
        out += draw(mail_bytes()).replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
        out += b"\n\n"
    return out


# --- the importers ----------------------------------------------------------------------


def _importer_test(world, run, strategy, suffix: str, command: tuple[str, ...], what: str):
    outcome = Outcome(run, world["url"])

    @SETTINGS
    @given(data=strategy)
    def prop(data: bytes) -> None:
        path = world["tmp"] / f"input-{next(world['n'])}{suffix}"
        path.write_bytes(data)
        outcome(*command, path)

    prop()
    outcome.report(what)


def test_contacts_csv_import_never_breaks(world, run):
    _importer_test(world, run, csv_files(), ".csv", ("contacts", "import"), "contacts CSV")


def test_contacts_json_import_never_breaks(world, run):
    _importer_test(world, run, json_files(), ".json", ("contacts", "import"), "contacts JSON")


def test_contacts_vcard_import_never_breaks(world, run):
    _importer_test(world, run, vcard_files(), ".vcf", ("contacts", "import"), "contacts vCard")


def test_responses_mbox_import_never_breaks(world, run):
    _importer_test(world, run, mbox_files(), ".mbox", ("responses", "import"), "responses mbox")


def test_responses_eml_import_never_breaks(world, run):
    _importer_test(world, run, mail_bytes(), ".eml", ("responses", "import"), "responses .eml")


# --- template variables -------------------------------------------------------------------


def test_set_variables_are_data_never_template_code(world, run):
    """Whatever ``--set note=VALUE`` holds, the letter prints it as text."""
    folder = world["tmp"] / "vars-templates"
    folder.mkdir()
    (folder / "note.md.j2").write_text(
        "{% block subject %}A note{% endblock %}\n{% block body %}[{{ note }}]{% endblock %}\n",
        encoding="utf-8",
    )
    outcome = Outcome(run, world["url"])
    examples: list[str] = []
    injections = st.sampled_from(
        [
            "{{ 7*7 }}",
            "{% for x in range(3) %}49{% endfor %}",
            "{{ ''.__class__.__mro__ }}",
            "{{ lipsum.__globals__['os'].environ }}",
            "{% include '/etc/passwd' %}",
            "${HOME}",
            "$(id)",
            "%(x)s",
            "{0.__class__}",
        ]
    )

    @SETTINGS
    @given(value=st.one_of(injections, st.text(max_size=60)))
    def prop(value: str) -> None:
        examples.append(value)
        slug = f"vars-{next(world['n'])}"
        created = outcome(
            *("campaigns", "create", slug, "--title", "Variables", "--template", "note"),
            *("--templates", folder, "--set", f"note={value}", "--org", "AU"),
        )
        if created.exit_code:
            return
        outcome("letters", "generate", "--campaign", slug, "--templates", folder)
        with world["db"].session() as s:
            body = s.scalar(
                sa.select(Letter.body).join(Letter.campaign).where(sa.text("campaigns.slug = :s")),
                {"s": slug},
            )
        if body is None:  # generation refused cleanly (checked above)
            return
        text = value.strip()
        if "{{" in text or "{%" in text:
            assert "49" not in body or "49" in text, body
            assert text in body or text.replace("\r", "") in body or "\n" in text, (text, body)
        for leak in LEAKS:
            assert leak not in body or leak in value

    prop()
    print(
        f"\n[{BACKEND}] campaign --set values: {len(examples)} Hypothesis examples "
        f"({outcome.counts['ok']} commands succeeded, {outcome.counts['refused']} refused cleanly)"
    )


# --- the template sandbox -------------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ organization.__class__.__mro__ }}",
    "{{ organization.__init__.__globals__ }}",
    "{{ sender.__class__.__init__.__globals__['os'].environ }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ joiner.__init__.__globals__.os.popen('id').read() }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].environ['OUTREACH_HOSTILE_SECRET'] }}",
    "{{ lipsum.__globals__.__builtins__.open('/etc/passwd').read() }}",
    "{{ range.__self__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}",
    "{{ self.__init__.__globals__ }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ os.environ }}",
    "{{ environ }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ '{0.__class__.__mro__}'.format(organization) }}",
    "{{ '{0.__init__.__globals__}'.format(lipsum) }}",
    "{{ '%s'|format(lipsum.__globals__) }}",
    "{{ organization|attr('__class__') }}",
    "{{ (organization|attr('__class__')|attr('__mro__'))[1] }}",
    "{{ today.__class__.__subclasses__() }}",
    "{{ dialogue.__class__ }}",
    "{% set x = organization.update({'name': 'changed'}) %}{{ organization.name }}",
    "{% set x = sender.clear() %}{{ sender }}",
    "{{ [].append.__self__ }}",
    "{{ organization.items.__self__.__class__ }}",
    "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}",
    "{% import 'os' as os %}{{ os }}",
    "{% include '../outside-secret.txt' %}",
    "{% include '/etc/passwd' %}",
    "{% include '../../../../../../etc/passwd' %}",
    "{% include 'leak.md.j2' %}",
    "{% include 'up/outside-secret.txt' %}",
    "{% extends '/etc/passwd' %}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
]


def _probe_folder(world, body: str) -> Path:
    """A fresh template folder with ``probe.md.j2`` = *body*, a symlink to the
    secret file beside the folder, and a symlink to the folder's parent."""
    folder = world["tmp"] / f"templates-{next(world['n'])}"
    folder.mkdir()
    (folder / "probe.md.j2").write_text(
        "{% block subject %}Probe{% endblock %}\n{% block body %}" + body + "{% endblock %}\n",
        encoding="utf-8",
    )
    (folder / "leak.md.j2").symlink_to(world["tmp"] / "outside-secret.txt")
    (folder / "up").symlink_to(world["tmp"])
    return folder


@pytest.fixture
def probe(world):
    folder = _probe_folder(world, "Hello {{ organization.acronym }}")
    with world["db"].session() as s:
        create_campaign(s, slug="probe", title="Probe", template="probe", templates=folder)
        from outreach.campaigns import add_recipients

        add_recipients(s, "probe", acronyms=["AU"])
    return world


def _render_or_refuse(world, body: str, *, write: bool) -> str | None:
    folder = _probe_folder(world, body)
    before = table_dump(world["url"])
    try:
        with world["db"].session(immediate=True) as s:
            if write:
                generate(s, campaign="probe", templates=folder, out=world["tmp"] / "probe-out")
                return s.scalar(sa.select(Letter.body).where(Letter.superseded_at.is_(None)))
            doc, _warning = preview(s, campaign="probe", organization="AU", templates=folder)
            return doc.subject + "\n" + doc.body
    except OutreachError as exc:
        assert "\n" not in str(exc)
        assert table_dump(world["url"]) == before, "a refused template changed the database"
        for leak in (ENV_SECRET, FILE_SECRET):
            assert leak not in str(exc)
        return None


@pytest.mark.parametrize("body", ESCAPES)
def test_known_template_escapes_are_refused(probe, body):
    text = _render_or_refuse(probe, body, write=True)
    if text is not None:
        for leak in LEAKS:
            assert leak not in text, (body, text)
        assert "root:" not in text
    with probe["db"].session() as s:
        au = s.scalar(sa.select(Organization.name).where(Organization.acronym_key == "au"))
    assert au == ORGS[0][1]  # nothing mutated through the context


#: How the sandbox's own globals (range, dict, cycler, joiner, namespace, lipsum)
#: print when a template prints them as they are.
GLOBAL_NAMES = sorted(
    {str(v) for v in make_environment([]).globals.values()}, key=len, reverse=True
)
CHAIN_BASES = [
    "organization", "contact", "campaign", "dialogue", "sender", "today", "language",
    "lipsum", "cycler", "joiner", "namespace", "range", "dict", "self", "loop", "config",
    "request", "os", "environ", "''", "()", "[]", "{}", "0", "varargs", "kwargs", "caller",
]  # fmt: skip
CHAIN_STEPS = [
    ".__class__", ".__mro__", ".__subclasses__()", ".__globals__", ".__init__", ".__dict__",
    ".__builtins__", "._TemplateReference__context", ".__base__", ".__bases__", "[1]", "[0]",
    ".mro()", ".__getattribute__('__class__')", "|attr('__class__')", "|attr('__globals__')",
    ".__func__", ".gi_frame", ".f_globals", ".environ", ".os", ".__import__('os')",
    "['__builtins__']", ".get('os')", ".items()", ".values()", ".format_map", ".__self__",
    ".__reduce_ex__(2)", ".popen('id')", ".read()", ".eval", ".__call__", "|list", "|first",
    "|string", ".keys()", "['OUTREACH_HOSTILE_SECRET']", ".name", ".acronym",
]  # fmt: skip
CHAIN_WRAPS = [
    "{{{{ {} }}}}",
    "{{% set y = {} %}}{{{{ y }}}}",
    "{{{{ '{{0}}'.format({}) }}}}",
    "{{{{ {}|pprint }}}}",
    "{{% for z in {} %}}{{{{ z }}}}{{% endfor %}}",
]


@st.composite
def chains(draw) -> str:
    expr = draw(st.sampled_from(CHAIN_BASES))
    expr += "".join(draw(st.lists(st.sampled_from(CHAIN_STEPS), min_size=1, max_size=6)))
    return draw(st.sampled_from(CHAIN_WRAPS)).format(expr)


def test_generated_attribute_chains_never_leak(probe):
    counts = {"rendered": 0, "refused": 0}

    @SETTINGS
    @given(body=chains())
    def prop(body: str) -> None:
        text = _render_or_refuse(probe, body, write=False)
        if text is None:
            counts["refused"] += 1
            return
        counts["rendered"] += 1
        for harmless in GLOBAL_NAMES:  # "{{ cycler }}" prints the class it is: no escape
            text = text.replace(harmless, "")
        for leak in LEAKS:
            assert leak not in text, (body, text)

    prop()
    total = sum(counts.values())
    print(f"\n[{BACKEND}] template attribute chains: {total} Hypothesis examples ({counts})")


def test_symlinked_template_is_refused(probe):
    """The campaign's template itself a link to a file outside the folder."""
    folder = _probe_folder(probe, "x")
    (folder / "probe.md.j2").unlink()
    (folder / "probe.md.j2").symlink_to(probe["tmp"] / "outside-secret.txt")
    before = table_dump(probe["url"])
    with (
        pytest.raises(OutreachError, match="outside the template folders"),
        probe["db"].session(immediate=True) as s,
    ):
        generate(s, campaign="probe", templates=folder)
    assert table_dump(probe["url"]) == before


# --- file names from user data ----------------------------------------------------------------

HOSTILE_ACRONYMS = [
    "../../x",
    "/etc/passwd",
    "..",
    ".",
    "CON",
    "nul",
    "com1",
    "a\x00b",
    "x" * 40,
    "Ünïcødé",
    "الجامعة",
    "..\\..\\win",
    "~root",
    ".hidden",
    "a/b/c",
    " ",
    "AU",  # clashes with the real AU case-insensitively once cleaned
    "au.",
]


def _add_raw_orgs(db, acronyms) -> list[str]:
    """Organizations straight into the table (as another tool or an old
    version might have left them), each with a contact and a place in ``tp``."""
    from outreach.models import CampaignRecipient, Contact

    added = []
    with db.session() as s:
        campaign_id = s.scalar(sa.text("SELECT id FROM campaigns WHERE slug = 'tp'"))
        for i, acronym in enumerate(acronyms):
            if BACKEND == "postgresql":
                acronym = acronym.replace("\x00", "")  # PostgreSQL text cannot hold NUL
            key = f"hostile-{i}-{acronym.casefold()}"[:40]
            org = Organization(acronym="tmp", name=f"Hostile {i} {acronym!r}"[:300])
            s.add(org)
            s.flush()
            s.execute(
                sa.update(Organization)
                .where(Organization.id == org.id)
                .values(acronym=acronym[:40], acronym_key=key)
            )
            s.add(
                Contact(organization_id=org.id, name=f"Contact {i}", email=f"c{i}@hostile.example")
            )
            s.add(CampaignRecipient(campaign_id=campaign_id, organization_id=org.id))
            added.append(acronym)
    return added


def test_file_names_from_acronyms_stay_in_the_out_folder(world, run):
    _add_raw_orgs(world["db"], HOSTILE_ACRONYMS)
    base = world["tmp"] / "deep" / "er"
    out = base / "letters"
    base.mkdir(parents=True)
    outside_before = {p for p in world["tmp"].rglob("*") if out not in p.parents}
    run("letters", "generate", "--campaign", "tp", "--out", out, "--format", "md,txt,html,eml")
    with world["db"].session() as s:
        letters = s.scalar(sa.select(sa.func.count()).select_from(Letter))
    files = [p for p in out.rglob("*")]
    assert all(p.is_file() and p.parent == out for p in files), files
    assert len(files) == letters * 4, "a letter's file overwrote another's"
    for p in files:
        assert p.resolve().parent == out.resolve()
        assert p.stem.casefold() not in {"con", "nul", "com1", "", ".", ".."}
        assert not p.name.startswith(".")
    outside_after = {p for p in world["tmp"].rglob("*") if out not in p.parents and p != out}
    assert outside_after - outside_before == set(), "files written outside --out"
    # `letters write` (the stored letters again) keeps to its folder too.
    again = base / "written"
    with world["db"].session() as s:
        ids = [str(i) for i in s.scalars(sa.select(Letter.id))]
    run("letters", "write", *ids, "--out", again)
    assert len(list(again.iterdir())) == letters
    assert all(p.resolve().parent == again.resolve() for p in again.rglob("*"))


@SETTINGS
@given(names=st.lists(st.text(max_size=80), min_size=1, max_size=8))
def test_file_name_stems_are_always_plain_and_unique(names):
    """Property of the function every output path goes through."""
    from outreach.letters import LetterDoc

    docs = []
    for i, name in enumerate(names):
        doc = LetterDoc.__new__(LetterDoc)
        doc.acronym, doc.organization_id, doc.round = name, i + 1, i % 2
        docs.append(doc)
    stems = letter_stems(docs)
    assert len({s.casefold() for s in stems}) == len(stems)
    for stem in [*stems, *(safe_stem(n, "fallback") for n in names)]:
        assert stem and os.sep not in stem and "/" not in stem and "\\" not in stem
        assert not stem.startswith(".") and ".." not in stem and "\x00" not in stem
        assert stem.isascii() and len(stem) <= 80
        assert Path(stem).name == stem
