"""Helpers for the sending and response tests: a recording SMTP server on
loopback (aiosmtpd) and campaigns with approved letters made straight through
the models (independent of letter generation)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

from outreach.db import Database
from outreach.schema.models import (
    Campaign,
    Channel,
    Contact,
    Letter,
    LetterStatus,
    Organization,
    OrgKind,
    Region,
)

SENDER = "secretariat@coalition.example"
ARCHIVE = "archive@coalition.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip()


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message it accepts."""

    received: list[Received] = field(default_factory=list)
    #: address -> reply for RCPT (e.g. "550 5.1.1 no such user").
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    #: address -> list of replies for DATA, used one per attempt (then accept).
    data_replies: dict[str, list[str]] = field(default_factory=dict)
    #: Recipients whose message is recorded, then the connection cut before
    #: the server answers (the sender cannot know it arrived).
    cut_after_data: set[str] = field(default_factory=set)
    #: When set, after recording message number ``hold_at`` (1-based) the
    #: server waits for ``release`` before answering.
    hold_at: int | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        to = envelope.rcpt_tos[0]
        replies = self.data_replies.get(to)
        if replies:
            return replies.pop(0)
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
            n = len(self.received)
        if to in self.cut_after_data:
            server.transport.abort()
            return "250 too late: nobody hears this"
        if self.hold_at is not None and n == self.hold_at:
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def wait_for(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"server received {self.count()} messages, wanted {n}")
            time.sleep(0.01)


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: Recorder
    controller: Controller

    def argv(self) -> list[str]:
        return ["--smtp-host", self.host, "--smtp-port", str(self.port), "--smtp-security", "none"]


def start_server(recorder: Recorder | None = None) -> SmtpServer:
    recorder = recorder or Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    return SmtpServer("127.0.0.1", port, recorder, controller)


def smtp_server() -> Iterator[SmtpServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.recorder.release.set()
        server.controller.stop()


ORGS = [
    ("GCC", "Cooperation Council for the Arab States of the Gulf", "ar", "gcc-sg.org"),
    ("AU", "African Union", "fr", "africa-union.org"),
    ("OAS", "Organization of American States", "es", "oas.org"),
    ("ASEAN", "Association of Southeast Asian Nations", "en", "asean.org"),
]


def seed_campaign(
    db: Database,
    *,
    letters: int = 4,
    slug: str = "iid-2012",
    status: LetterStatus = LetterStatus.APPROVED,
    sender: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A campaign with *letters* approved e-mail letters, one per organization.

    The first four organizations are real ones with letters in their
    languages; the rest are numbered.
    """
    out: dict[str, Any] = {"letters": [], "orgs": [], "contacts": []}
    with db.session() as session:
        campaign = Campaign(
            slug=slug,
            title="Third pillar dialogue, 2012",
            signatory="Coalition secretariat",
            sender=sender if sender is not None else {"email": SENDER, "name": "Coalition"},
        )
        session.add(campaign)
        session.flush()
        out["campaign_id"] = campaign.id
        subjects = {
            "ar": "الحوار التفاعلي غير الرسمي بشأن المسؤولية عن الحماية",
            "fr": "Dialogue interactif informel sur la responsabilité de protéger",
            "es": "Diálogo interactivo oficioso sobre la responsabilidad de proteger",
            "en": "Informal interactive dialogue on the responsibility to protect",
        }
        for i in range(letters):
            if i < len(ORGS):
                acronym, name, lang, domain = ORGS[i]
            else:
                acronym, name, lang, domain = (
                    f"ORG{i:04d}",
                    f"Regional organization {i}",
                    "en",
                    f"org{i:04d}.example",
                )
            org = Organization(
                acronym=acronym,
                name=name,
                kind=OrgKind.REGIONAL,
                region=Region.GLOBAL,
                languages=[lang],
                website=f"https://www.{domain}/",
            )
            session.add(org)
            session.flush()
            contact = Contact(
                organization_id=org.id,
                name="Office of the Secretary-General" if i % 2 == 0 else f"Dr. Amal Haddad {i}",
                email=f"sg@{domain}",
                language=lang,
                is_primary=True,
            )
            session.add(contact)
            session.flush()
            letter = Letter(
                campaign_id=campaign.id,
                organization_id=org.id,
                contact_id=contact.id,
                language=lang,
                subject=subjects[lang],
                body=f"Your Excellency,\n\n{subjects[lang]} — {acronym}.\n\nWith respect,\n",
                template_name="third-pillar",
                template_hash="0" * 64,
                status=status,
                channel=Channel.EMAIL,
                to_address=contact.email,
            )
            session.add(letter)
            session.flush()
            out["letters"].append(letter.id)
            out["orgs"].append(org.id)
            out["contacts"].append(contact.id)
    return out
