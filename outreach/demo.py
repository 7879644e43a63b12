"""A complete sample campaign, built with the library's own functions.

:func:`build_demo` makes a fresh SQLite database and runs a campaign through
every step a secretariat takes: the shipped directory of regional
organizations, a dialogue, a campaign with its recipients, letters in the
seven shipped languages (English, French, Spanish, Portuguese, Arabic,
Russian, Chinese), e-mail letters "sent" into a
local outbox file (no mail leaves the machine), letters by post marked sent,
a reply by post with its scanned letter attached, replies by e-mail read
from a sample mailbox and matched to their letters, a round of reminders,
and finally the status report (table and HTML).

The shipped directory carries no e-mail or postal addresses, so the demo
gives the offices example addresses under ``.example`` domains, which can
never reach anyone.

Running it again rebuilds the demo database from scratch; it refuses to
touch a database that is not a demo.
"""

from __future__ import annotations

import datetime as dt
import mailbox
import shutil
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from outreach.demodata import (
    DEMO_CAMPAIGN,
    DEMO_DIALOGUE,
    DEMO_SENDER,
    EMAIL_REPLIES,
    HELD_BACK,
    NOISE,
    POST_ONLY,
    POST_SENT_DAYS_AGO,
    POSTAL,
    REACH,
    RECIPIENTS,
    REMINDERS_SENT_DAYS_AGO,
    SENDER_TEXT,
)
from outreach.errors import ConflictError, OutreachError
from outreach.files import create_private_file, make_dirs, write_file
from outreach.schema.types import utcnow


@dataclass
class DemoResult:
    folder: Path
    database: Path
    letters_folder: Path
    outbox: Path
    inbox: Path
    scanned_reply: Path
    attachments: Path
    html_report: Path
    organizations: int = 0
    letters: int = 0
    languages: list[str] = field(default_factory=list)
    emails_sent: int = 0
    posted: int = 0
    reminders: int = 0
    responses: int = 0
    unmatched: int = 0
    status_table: str = ""


class OutboxTransport:
    """Stands in for an SMTP connection: appends each message to an mbox
    file, so the e-mail letters can be read but never leave the machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connections_opened = 0
        self._box: mailbox.mbox | None = None

    def open(self) -> None:
        if self._box is None:
            create_private_file(self.path)  # mailbox would make it with the umask
            self._box = mailbox.mbox(self.path)
            self.connections_opened += 1

    def close(self) -> None:
        if self._box is not None:
            self._box.flush()
            self._box.close()
            self._box = None

    def __enter__(self) -> OutboxTransport:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, msg: EmailMessage, from_address: str, recipients: Sequence[str]) -> list[str]:
        self.open()
        assert self._box is not None
        self._box.add(msg)
        return []


def default_folder() -> Path:
    return Path.cwd() / "outreach-demo"


#: Marks a folder made by the demo: only such a folder is ever cleared.
MARKER = ".outreach-demo"

#: What the demo writes in its folder (cleared when it runs again).
OUTPUTS = ("letters", "outbox.mbox", "inbox.mbox", "gcc-reply.pdf", "status.html")


def _is_demo_database(db_path: Path) -> bool:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
            slugs = {row[0] for row in conn.execute("SELECT slug FROM campaigns")}
    except sqlite3.Error:
        return False
    return slugs == {DEMO_CAMPAIGN}


def _fresh(db_path: Path, folder: Path) -> None:
    """Clear an earlier demo, refusing to touch anything it did not make."""
    if folder.exists() and any(folder.iterdir()) and not (folder / MARKER).exists():
        raise ConflictError(
            f"{folder} is not empty and was not made by `outreach demo`; choose another --folder"
        )
    if db_path.exists():
        if not _is_demo_database(db_path):
            raise ConflictError(
                f"{db_path} exists and is not an outreach demo database; "
                "choose another --db (the demo always starts from a fresh file)"
            )
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(db_path.parent / f"{db_path.stem}-attachments", ignore_errors=True)
    if (folder / MARKER).exists():
        for name in OUTPUTS:
            target = folder / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
    make_dirs(folder)
    write_file(
        folder / MARKER,
        "Made by `outreach demo`; running it again clears and rebuilds this folder.\n",
    )


def _address(acronym: str) -> str:
    return f"office-{acronym.lower()}@{acronym.lower()}.example"


def _scanned_reply(path: Path, today: dt.date) -> None:
    """A one-page PDF standing in for the GCC's scanned reply."""
    lines = [
        "Gulf Cooperation Council - Secretariat General",
        f"Riyadh, {today.isoformat()}",
        "",
        "The Secretary-General thanks the coalition for its letter on the",
        "informal interactive dialogue and confirms the Council's interest",
        "in sharing its experience of preventive diplomacy.",
        "",
        "(Sample scanned reply made by `outreach demo`.)",
    ]
    text = " ".join(
        f"({line.replace(chr(92), '').replace('(', '[').replace(')', ']')}) Tj T*" for line in lines
    )
    stream = f"BT /F1 12 Tf 16 TL 72 760 Td {text} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    write_file(path, bytes(out))


def _reply(
    *, to_letter: Any, from_address: str, subject: str, body: str, when: dt.datetime
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = from_address
    msg["To"] = DEMO_SENDER
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain=from_address.rsplit("@", 1)[1])
    if to_letter is not None and to_letter.message_id:
        msg["In-Reply-To"] = to_letter.message_id
        msg["References"] = to_letter.message_id
    msg.set_content(textwrap.fill(body, 72) + "\n")
    return msg


def build_demo(
    folder: Path | None = None,
    *,
    db_path: Path | None = None,
    say: Callable[[str], None] = lambda _text: None,
) -> DemoResult:
    """Build the demo campaign under *folder* (default ``./outreach-demo``);
    *say* receives one line per step."""
    import sqlalchemy as sa

    from outreach.attachments import AttachmentStore
    from outreach.campaigns import activate_campaign, add_dialogue, add_recipients, create_campaign
    from outreach.db import Database
    from outreach.directory import get_organization, update_contact
    from outreach.directory.importing import load_shipped_directory
    from outreach.letters.files import write_files
    from outreach.letters.generation import generate
    from outreach.letters.review import approve
    from outreach.reports import render_status
    from outreach.reports.html import status_html
    from outreach.reports.output import write_text_atomic
    from outreach.reports.status import status_report
    from outreach.responses.inbox import import_messages
    from outreach.responses.records import edit_response, log_response
    from outreach.schema.models import Contact, Letter, LetterStatus
    from outreach.sending.batch import Sender
    from outreach.sending.manual import mark_sent
    from outreach.sending.settings import MailIdentity

    folder = Path(folder or default_folder()).resolve()
    db_path = Path(db_path).resolve() if db_path else folder / "demo.db"
    make_dirs(db_path.parent)
    _fresh(db_path, folder)
    result = DemoResult(
        folder=folder,
        database=db_path,
        letters_folder=folder / "letters",
        outbox=folder / "outbox.mbox",
        inbox=folder / "inbox.mbox",
        scanned_reply=folder / "gcc-reply.pdf",
        attachments=db_path.parent / f"{db_path.stem}-attachments",
        html_report=folder / "status.html",
    )
    now = utcnow()
    today = now.date()
    db = Database(db_path, actor="outreach demo")
    try:
        db.init()
        store = AttachmentStore.for_database(db)
        result.attachments = store.root if hasattr(store, "root") else result.attachments

        # 1. The directory, with example addresses for the demo.
        with db.session(immediate=True) as session:
            loaded = load_shipped_directory(session=session)
            for acronym in RECIPIENTS:
                org = get_organization(session, acronym)
                contact = session.scalars(
                    sa.select(Contact)
                    .where(Contact.organization_id == org.id)
                    .order_by(Contact.is_primary.desc(), Contact.id)
                ).first()
                if contact is None:
                    raise OutreachError(f"the shipped directory has no contact at {acronym}")
                channel, language = REACH[acronym]
                fields: dict[str, Any] = {"language": language, "preferred_channel": channel}
                if acronym not in POST_ONLY:
                    fields["email"] = _address(acronym)
                if channel == "post":
                    fields["postal_address"] = POSTAL.get(acronym) or org.hq_city or ""
                update_contact(contact, session=session, **fields)
            result.organizations = sum(
                loaded.by_kind.get("organization", {}).get(action, 0)
                for action in ("created", "updated", "unchanged", "skipped")
            )
        say(f"Directory: {result.organizations} organizations from the shipped directory")

        # 2. Dialogue and campaign.
        with db.session(immediate=True) as session:
            add_dialogue(
                session,
                slug=DEMO_DIALOGUE,
                title="Informal interactive dialogue on the responsibility to protect",
                theme="Timely and decisive response (the third pillar)",
                date=today + dt.timedelta(days=45),
            )
            campaign = create_campaign(
                session,
                slug=DEMO_CAMPAIGN,
                title="Regional organizations and the third pillar (demo)",
                template="third-pillar",
                followup_template="third-pillar-reminder",
                dialogue=DEMO_DIALOGUE,
                signatory="Ana Ribeiro",
                sender={
                    "name": "Coalition Secretariat (demo)",
                    "organization": SENDER_TEXT["en"][0],
                    "signatory_title": SENDER_TEXT["en"][1],
                    "place": SENDER_TEXT["en"][2],
                    "email": DEMO_SENDER,
                    "i18n": {
                        lang: {"organization": org, "signatory_title": title, "place": place}
                        for lang, (org, title, place) in SENDER_TEXT.items()
                    },
                },
                variables={"reply_by": today + dt.timedelta(days=14)},
                starts_on=today - dt.timedelta(days=POST_SENT_DAYS_AGO + 2),
            )
            add_recipients(session, campaign.slug, acronyms=list(RECIPIENTS))
            activate_campaign(session, campaign)
        say(f"Campaign: {DEMO_CAMPAIGN}, {len(RECIPIENTS)} recipients")

        # 3. Letters by post to the offices with a postal address, posted
        #    a few weeks ago; then letters by e-mail to the others, sent now.
        with db.write() as conn:
            by_post = generate(
                conn,
                campaign=DEMO_CAMPAIGN,
                channel="post",
                today=today - dt.timedelta(days=POST_SENT_DAYS_AGO),
            )
        write_files(by_post.letters, result.letters_folder)
        with db.session(immediate=True) as session:
            approve(session, campaign=DEMO_CAMPAIGN)
            posted = mark_sent(
                session,
                channel="post",
                on=today - dt.timedelta(days=POST_SENT_DAYS_AGO),
                campaign_id=campaign.id,
            )
            result.posted = len(posted)
        with db.write() as conn:
            by_mail = generate(conn, campaign=DEMO_CAMPAIGN, channel="email", today=today)
        write_files(by_mail.letters, result.letters_folder)
        with db.session(immediate=True) as session:
            approve(session, campaign=DEMO_CAMPAIGN)
            held = {get_organization(session, a).id for a in HELD_BACK}
            letters = session.execute(
                sa.select(Letter.id, Letter.language, Letter.channel, Letter.organization_id).where(
                    Letter.campaign_id == campaign.id, Letter.superseded_at.is_(None)
                )
            ).all()
            identity = MailIdentity.for_campaign(campaign)
        result.letters = by_mail.created + by_post.created
        result.languages = sorted({row.language for row in letters})
        say(
            f"Letters: {result.letters} generated in {', '.join(result.languages)} "
            f"(written to {result.letters_folder})"
        )
        to_send = [
            row.id
            for row in letters
            if row.channel.value == "email" and row.organization_id not in held
        ]
        sender = Sender(db, identity, transport=OutboxTransport(result.outbox), dry_run=False)
        report = sender.send_campaign(DEMO_CAMPAIGN, letter_ids=to_send)
        result.emails_sent = report.count("sent")
        say(
            f"Sent: {result.posted} by post ({POST_SENT_DAYS_AGO} days ago), "
            f"{result.emails_sent} by e-mail today into {result.outbox.name}; "
            f"{len(HELD_BACK)} e-mail letters approved but not sent yet"
        )

        # 5. Replies: one by post with its scanned letter, some by e-mail.
        _scanned_reply(result.scanned_reply, today)
        with db.session(immediate=True) as session:
            gcc = get_organization(session, "GCC")
            log_response(
                session,
                store=store,
                organization_id=gcc.id,
                campaign_id=campaign.id,
                received_at=now - dt.timedelta(days=9),
                channel="post",
                sender="Secretary-General of the GCC",
                stance="supportive",
                summary="The Secretary-General replied by post: interested in sharing "
                "the Council's experience of preventive diplomacy.",
                attachments=[result.scanned_reply],
            )
            sent_letters = {
                row.organization_id: row
                for row in session.execute(
                    sa.select(Letter.organization_id, Letter.message_id).where(
                        Letter.campaign_id == campaign.id,
                        Letter.status == LetterStatus.SENT,
                        Letter.round == 0,
                    )
                )
            }
            create_private_file(result.inbox)
            inbox = mailbox.mbox(result.inbox)
            try:
                for acronym, days_ago, subject, body, _stance in EMAIL_REPLIES:
                    org = get_organization(session, acronym)
                    inbox.add(
                        _reply(
                            # Only the reply to today's e-mail quotes its letter.
                            to_letter=sent_letters.get(org.id) if days_ago == 0 else None,
                            from_address=_address(acronym),
                            subject=subject,
                            body=body,
                            when=now - dt.timedelta(days=days_ago, hours=-1)
                            if days_ago
                            else utcnow(),
                        )
                    )
                noise_from, noise_subject, noise_body = NOISE
                inbox.add(
                    _reply(
                        to_letter=None,
                        from_address=noise_from,
                        subject=noise_subject,
                        body=noise_body,
                        when=utcnow(),
                    )
                )
                inbox.flush()
            finally:
                inbox.close()
            imported = import_messages(
                session, result.inbox, store=store, own_addresses=[DEMO_SENDER]
            )
            # The coordinator reads each reply and records its stance.
            stances = {acr: stance for acr, _d, _s, _b, stance in EMAIL_REPLIES}
            for message in imported.matched:
                if message.response_id and message.acronym in stances:
                    edit_response(session, message.response_id, stance=stances[message.acronym])
            result.unmatched = len(imported.unmatched)
        result.responses = 1 + len(imported.matched)
        say(
            f"Replies: 1 by post with {result.scanned_reply.name} attached; "
            f"{len(imported.matched)} e-mails matched from {result.inbox.name}, "
            f"{result.unmatched} left for a person to sort"
        )

        # 6. Reminders to the silent post recipients, sent a few days ago.
        with db.write() as conn:
            reminders = generate(
                conn,
                campaign=DEMO_CAMPAIGN,
                channel="post",
                followup=True,
                after=dt.timedelta(days=14),
                today=today,
            )
        write_files(reminders.letters, result.letters_folder)
        with db.session(immediate=True) as session:
            new = list(
                session.scalars(
                    sa.select(Letter.id).where(
                        Letter.campaign_id == campaign.id,
                        Letter.round > 0,
                        Letter.status == LetterStatus.DRAFT,
                        Letter.superseded_at.is_(None),
                    )
                )
            )
            if new:
                approve(session, ids=new)
                marked = mark_sent(
                    session,
                    channel="post",
                    on=today - dt.timedelta(days=REMINDERS_SENT_DAYS_AGO),
                    campaign_id=campaign.id,
                    letter_ids=new,
                )
                result.reminders = len(marked)
        say(
            f"Follow-up: {reminders.created} reminders made for the silent post recipients, "
            f"{result.reminders} posted {REMINDERS_SENT_DAYS_AGO} days ago"
        )

        # 7. The status report.
        with db.session() as session:
            status = status_report(session, campaign=DEMO_CAMPAIGN, timeline=True)
        result.status_table = render_status(status, "table", color=True)
        write_text_atomic(result.html_report, status_html(status))
    finally:
        db.dispose()
    return result
