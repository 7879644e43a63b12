"""Every response test gets its own attachments store (``store_dir``, autouse);
the IMAP tests get a real Dovecot (``dovecot``, ``dovecot_tls``: one server per
session, a new user per test)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .. import imapserver
from ._fixtures import store_dir  # noqa: F401


@pytest.fixture(scope="session")
def introspection_url() -> Iterator[str]:
    """The token introspection endpoint Dovecot's oauth2 passdb asks (its own
    process: no thread is left in this one)."""
    port = imapserver.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.oauth_introspection", str(port)],
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the token introspection server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/introspect"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _server(tls: bool, introspection_url: str) -> Iterator[imapserver.DovecotServer]:
    if not imapserver.available():
        pytest.skip("dovecot is not installed (Debian package dovecot-imapd)")
    # Not under pytest's tmp_path: its folders are private to this user, and
    # Dovecot's own processes must reach the mail.
    root = Path(tempfile.mkdtemp(prefix="outreach-dovecot-"))
    server = imapserver.DovecotServer(root, tls=tls, introspection_url=introspection_url)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot_server(introspection_url: str) -> Iterator[imapserver.DovecotServer]:
    yield from _server(False, introspection_url)


@pytest.fixture(scope="session")
def dovecot_tls_server(introspection_url: str) -> Iterator[imapserver.DovecotServer]:
    yield from _server(True, introspection_url)


class Mailbox:
    """A fresh user on a running Dovecot: ``user``, ``password``, ``host``, ``port``."""

    def __init__(self, server: imapserver.DovecotServer) -> None:
        self.server = server
        self.user = f"u{uuid.uuid4().hex[:10]}"
        self.password = f"pw-{uuid.uuid4().hex[:8]}"
        #: an OAuth2 access token the server's introspection accepts for this user
        self.token = f"token-for-{self.user}"
        self.host, self.port = server.host, server.port
        server.add_user(self.user, self.password)

    def client(self, *, tls: bool = False):
        import ssl

        from imapclient import IMAPClient

        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        if tls:
            client.starttls(ssl.create_default_context(cafile=str(self.server.cert)))
        client.login(self.user, self.password)
        return client

    def append(self, folder: str, data: bytes, flags: tuple[str, ...] = ()) -> None:
        client = self.client(tls=self.server.tls)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, data, flags=flags)
        finally:
            client.logout()

    def deliver(self, data: bytes, name: str) -> None:
        self.server.deliver(self.user, data, name)

    def state(self, folder: str = "INBOX") -> dict[bytes, tuple]:
        """{Message-ID header: flags (without \\Recent)} of the folder's messages."""
        client = self.client(tls=self.server.tls)
        try:
            client.select_folder(folder, readonly=True)
            parts = ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]
            fetched = client.fetch(client.search("ALL"), parts)
            out = {}
            for item in fetched.values():
                head = item[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].strip()
                out[head] = tuple(sorted(f for f in item[b"FLAGS"] if f != b"\\Recent"))
            return out
        finally:
            client.logout()


@pytest.fixture
def mailbox(dovecot_server: imapserver.DovecotServer) -> Mailbox:
    return Mailbox(dovecot_server)


@pytest.fixture
def tls_mailbox(dovecot_tls_server: imapserver.DovecotServer) -> Mailbox:
    return Mailbox(dovecot_tls_server)
