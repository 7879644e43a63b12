"""The audit trail: every command that changes something leaves an Activity row
saying who did it, when, to what, and (for edits) what it was before and after.

One coordinator's year, command by command through the real CLI: after each
command, the rows it added to the activity log are checked. ``outreach log``
then shows them.
"""

from __future__ import annotations

import datetime as dt
import json
import mailbox
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from outreach.schema.models import Activity, InboundMessage, Letter, LetterStatus, Response

from .mailfixtures import smtp_server

ACTOR = "tester"  # the run fixture acts --as tester


@pytest.fixture
def smtp():
    yield from smtp_server()


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("OUTREACH_ATTACHMENTS_DIR", str(tmp_path / "store"))
    orgs = tmp_path / "orgs.csv"
    orgs.write_text(
        "acronym,name,kind,region,languages\n"
        'ECOWAS,Economic Community of West African States,sub-regional,africa,"en,fr,pt"\n',
        encoding="utf-8",
    )
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "organization,name,position,email,language\n"
        "AU,Amina Diallo,Political Affairs Officer,amina@au.example,fr\n",
        encoding="utf-8",
    )
    scan = tmp_path / "reply.pdf"
    scan.write_bytes(b"%PDF-1.4\n% scanned reply\n")
    mbox = tmp_path / "replies.mbox"
    box = mailbox.mbox(str(mbox))
    for i, (frm, subject) in enumerate(
        [("sg@gcc.example", "Re: the dialogue"), ("someone@elsewhere.example", "Hello")]
    ):
        msg = EmailMessage()
        msg["From"] = frm
        msg["To"] = "info@coalition.example"
        msg["Subject"] = subject
        msg["Date"] = format_datetime(dt.datetime(2012, 4, 2 + i, 9, tzinfo=dt.UTC))
        msg["Message-ID"] = f"<audit-{i}@example.org>"
        msg.set_content("We have received your letter.")
        box.add(msg)
    box.flush()
    box.close()
    return {"orgs": orgs, "contacts": contacts, "scan": scan, "mbox": mbox}


class Trail:
    """Runs a command and collects the Activity rows it added."""

    def __init__(self, db, run) -> None:
        self.db, self.run = db, run
        self.last = 0
        self.misses: list[str] = []
        self.checked: list[str] = []

    def __call__(self, *args, changes: dict | None = None, entity: str | None = None):
        started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        result = self.run(*args)
        with self.db.session() as s:
            rows = s.scalars(sa.select(Activity).where(Activity.id > self.last)).all()
            if rows:
                self.last = max(r.id for r in rows)
        label = " ".join(str(a) for a in args[:2])
        self.checked.append(label)
        ended = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        if not rows:
            self.misses.append(f"`outreach {' '.join(map(str, args))}` wrote no Activity row")
            return result, rows
        for row in rows:
            if row.actor != ACTOR:
                self.misses.append(f"{label}: actor {row.actor!r}, not {ACTOR!r}")
            if not started <= row.at <= ended:
                self.misses.append(f"{label}: at {row.at} is not when it happened")
            if not row.action or not row.entity:
                self.misses.append(f"{label}: no action or entity ({row.action!r}, {row.entity!r})")
        if entity is not None and not any(r.entity == entity for r in rows):
            self.misses.append(f"{label}: no row about a {entity} ({[r.entity for r in rows]})")
        for field, (before, after) in (changes or {}).items():
            found = [r.changes[field] for r in rows if r.changes and field in r.changes]
            if not found:
                self.misses.append(f"{label}: {field} change not recorded ({rows[0].changes})")
            elif [before, after] not in [list(f) for f in found]:
                self.misses.append(f"{label}: {field} recorded as {found}, not {[before, after]}")
        return result, rows


def test_every_change_leaves_an_activity_row(db, db_url, run, files, smtp):
    t = Trail(db, run)
    # -- the directory
    t("dialogues", "add", "ga-2012", "--title", "Dialogue on the third pillar",
      "--date", "2012-09-05", entity="dialogue")  # fmt: skip
    t("dialogues", "edit", "ga-2012", "--report-symbol", "A/66/874-S/2012/578",
      changes={"report_symbol": [None, "A/66/874-S/2012/578"]})  # fmt: skip
    t("orgs", "add", "AU", "African Union", "--kind", "regional", "--region", "africa",
      "--languages", "en,fr", entity="organization")  # fmt: skip
    t("orgs", "add", "GCC", "Gulf Cooperation Council", "--kind", "sub-regional",
      "--region", "mena", "--languages", "ar")  # fmt: skip
    t("orgs", "add", "OAS", "Organization of American States", "--kind", "regional")
    t("orgs", "add", "OEA", "Organización de los Estados Americanos", "--kind", "regional")
    t("orgs", "edit", "AU", "--hq-city", "Addis Ababa", changes={"hq_city": [None, "Addis Ababa"]})
    t("orgs", "import", files["orgs"], entity="organization")
    t("contacts", "add", "AU", "Office of the Chairperson", "--email", "chair@au.example",
      "--primary", entity="contact")  # fmt: skip
    t("contacts", "add", "GCC", "Secretary-General", "--email", "sg@gcc.example", "--primary")
    t("contacts", "add", "OAS", "Secretary-General", "--email", "sg@oas.example")
    t("contacts", "add", "OEA", "Secretario General", "--email", "sg2@oas.example")
    t("contacts", "edit", "chair@au.example", "--position", "Chairperson",
      changes={"position": [None, "Chairperson"]})  # fmt: skip
    t("contacts", "edit", "chair@au.example", "--postal-address", "Roosevelt Street\\nAddis Ababa")
    t("contacts", "import", files["contacts"], entity="contact")
    t("orgs", "merge", "OAS", "OEA", "-y", entity="organization")  # OEA's contact moves to OAS
    t("contacts", "merge", "sg@oas.example", "sg2@oas.example", "-y", entity="contact")
    t("contacts", "add", "AU", "Temporary desk", "--email", "temp@au.example")
    t("contacts", "remove", "temp@au.example", "-y", entity="contact")
    t("orgs", "add", "TMP", "Temporary organization")
    t("orgs", "remove", "TMP", "-y", entity="organization")
    # -- a campaign and its letters
    t("campaigns", "create", "tp", "--title", "Third pillar", "--dialogue", "ga-2012",
      "--template", "third-pillar", "--signatory", "A. Coordinator",
      "--sender-email", "info@coalition.example", "--org", "AU", "--org", "GCC",
      entity="campaign")  # fmt: skip
    t("campaigns", "edit", "tp", "--signatory", "B. Coordinator",
      changes={"signatory": ["A. Coordinator", "B. Coordinator"]})  # fmt: skip
    t("campaigns", "add-recipients", "tp", "OAS")
    t("campaigns", "remove-recipients", "tp", "OAS")
    t("letters", "generate", "--campaign", "tp")
    t("letters", "approve", "--campaign", "tp", "--all", entity="letter")
    with db.session() as s:
        ids = dict(
            s.execute(sa.select(Letter.organization_id, Letter.id).order_by(Letter.id)).all()
        )
        _au_letter, gcc_letter = sorted(ids.values())
    t("letters", "cancel", gcc_letter, entity="letter")
    t("letters", "send", "--campaign", "tp", "--send", *smtp.argv(), entity="letter")
    t("campaigns", "clone", "tp", "tp-post", entity="campaign")
    # the AU's office prefers letters by post: the post run writes to it
    t("contacts", "edit", "chair@au.example", "--channel", "post")
    t("letters", "generate", "--campaign", "tp-post", "--channel", "post")
    t("letters", "approve", "--campaign", "tp-post", "--all")
    t("letters", "mark-sent", "--campaign", "tp-post", "--channel", "post", entity="letter")
    # Two letters left in doubt (as after a crash), settled both ways.
    t("campaigns", "clone", "tp", "tp-doubt")  # with AU and GCC as recipients
    t("letters", "generate", "--campaign", "tp-doubt")
    with db.session() as s:
        doubt = s.scalars(
            sa.select(Letter.id).join(Letter.campaign).where(sa.text("campaigns.slug='tp-doubt'"))
        ).all()
        for n, letter_id in enumerate(doubt):
            s.execute(
                sa.update(Letter)
                .where(Letter.id == letter_id)
                .values(status=LetterStatus.SENDING, message_id=f"<doubt-{n}@coalition.example>")
            )
    t("letters", "confirm", doubt[0], changes={"status": ["sending", "sent"]})
    t("letters", "resend", doubt[1], changes={"status": ["sending", "approved"]})
    # -- responses
    result, _ = t(
        *("responses", "log", "--org", "AU", "--campaign", "tp", "--channel", "post"),
        *("--stance", "supportive", "--summary", "Will speak", "--attach", files["scan"]),
        *("--format", "json"),
        entity="response",
    )
    response_id = json.loads(result.stdout)["id"]
    t("responses", "edit", response_id, "--stance", "commitment",
      changes={"stance": ["supportive", "commitment"]})  # fmt: skip
    t("responses", "import", files["mbox"])
    with db.session() as s:
        queued = s.scalars(
            sa.select(InboundMessage.id).where(InboundMessage.response_id.is_(None))
        ).all()
    assert queued, "the stranger's message should wait in the unmatched queue"
    # The new response's id is in the row about the message it was made from.
    t("responses", "assign", queued[0], "--org", "GCC", entity="inbound_message",
      changes={"status": ["unmatched", "assigned"]})  # fmt: skip
    # -- closing the year
    t("campaigns", "close", "tp", changes={"status": ["active", "closed"]})
    t("contacts", "forget", "amina@au.example", "-y", entity="contact")

    with db.session() as s:
        total = s.scalar(sa.select(sa.func.count()).select_from(Activity))
        responses = s.scalar(sa.select(sa.func.count()).select_from(Response))
    assert responses >= 2
    print(f"\n{len(t.checked)} mutating commands checked; {total} activity rows")
    assert not t.misses, "\n".join(t.misses)

    # `outreach log` shows them, newest first, with before and after.
    shown = json.loads(run("log", "--limit", "0", "--format", "json").stdout)
    assert len(shown) == total
    edits = [e for e in shown if e["changes"] and "hq_city" in e["changes"]]
    assert edits[0]["changes"]["hq_city"] == {"before": None, "after": "Addis Ababa"}
    assert {e["actor"] for e in shown} == {ACTOR}


def test_ignoring_a_message_is_logged(db, run, files):
    run("orgs", "add", "GCC", "Gulf Cooperation Council")
    run("responses", "import", files["mbox"])
    t = Trail(db, run)
    with db.session() as s:
        t.last = s.scalar(sa.select(sa.func.max(Activity.id))) or 0
        queued = s.scalars(
            sa.select(InboundMessage.id).where(InboundMessage.response_id.is_(None))
        ).all()
    t("responses", "ignore", *queued)
    assert not t.misses, "\n".join(t.misses)
