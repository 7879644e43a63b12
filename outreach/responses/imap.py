"""Fetching replies straight from a mailbox folder over IMAP.

:func:`fetch_folder` reads the messages of one folder that it has not read
before, imports them (:func:`outreach.responses.inbox.import_messages`) and
remembers how far it got in ``mailbox_state`` (per account and folder: the
folder's UIDVALIDITY and the last UID read), so a second fetch adds nothing.
When the server renumbers the folder (a new UIDVALIDITY) the folder is read
again from the start, and the Message-IDs already imported keep it from
importing anything twice.

The mailbox is left as it was: the folder is opened read-only and messages
are read with ``BODY.PEEK[]``, so no flag changes, unless *move_to* is given;
then every message read is moved there once its import is committed.

Messages are imported in batches, one transaction each, so an interrupted
fetch keeps what it committed and goes on from there next time. The network
is not used while the write lock is held, except to read the batch.

The IMAP client is IMAPClient (imported on first use).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from outreach.errors import ConfigurationError, OutreachError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from outreach.attachments import AttachmentStore
    from outreach.db import Database
    from outreach.responses.inbox import ImportedMessage

#: The IMAP password is read from here when no password command is given.
ENV_IMAP_PASSWORD = "OUTREACH_IMAP_PASSWORD"

SECURITIES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
#: Messages read and imported per transaction.
BATCH = 25


class ImapError(OutreachError):
    """The IMAP server cannot be reached, refuses the login or the folder."""


@dataclass(frozen=True)
class ImapAccount:
    """Where to read: the server, the login and the folder (never a password)."""

    host: str
    user: str
    port: int | None = None
    security: str = "ssl"
    folder: str = "INBOX"
    timeout: float = 30.0
    #: Log in with an OAuth2 access token (SASL XOAUTH2) instead of a password.
    oauth: bool = False

    def __post_init__(self) -> None:
        if self.security not in SECURITIES:
            raise ConfigurationError(
                f"unknown IMAP security {self.security!r}: one of {', '.join(SECURITIES)}",
                field="security",
            )
        if not self.host.strip():
            raise ConfigurationError("no IMAP server given", field="host")
        if not self.user.strip():
            raise ConfigurationError("no IMAP user given", field="user")

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def key(self) -> str:
        """The account as ``mailbox_state`` names it: ``user@host:port``."""
        return f"{self.user}@{self.host}:{self.effective_port}"[:400]

    def describe(self) -> str:
        return f"{self.key} ({self.security})"


# --- the password --------------------------------------------------------------------------


def find_password(
    account: ImapAccount,
    *,
    command: str | None = None,
    prompt: Callable[[str], str] | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """The password for *account*: the output of *command* (its first line),
    else the environment's ``OUTREACH_IMAP_PASSWORD``, else the settings'
    ``imap.password_command``, else the system keyring's entry for the
    account (:mod:`outreach.configfile`), else what *prompt* returns when
    asked. The one place credentials are looked up."""
    if command:
        return _password_from_command(command)
    env = os.environ if env is None else env
    if env.get(ENV_IMAP_PASSWORD):
        return env[ENV_IMAP_PASSWORD]
    from outreach import configfile

    found = configfile.password(
        "imap", configfile.load(env), env, user=account.user, host=account.host
    )
    if found:
        return found
    if prompt is not None:
        return prompt(f"IMAP password for {account.user} at {account.host}")
    raise ConfigurationError(
        f"no IMAP password for {account.user}: set {ENV_IMAP_PASSWORD} or give a password "
        "command",
        option="password_command",
    )


def _password_from_command(command: str) -> str:
    """The first line *command* prints, run as the settings' password
    commands are: split into words, no shell, its output never shown."""
    from outreach import configfile

    if not command.strip():
        raise ConfigurationError("the password command is empty", field="password_command")
    try:
        return configfile.run_secret_command("the password command", command)
    except ConfigurationError as exc:
        raise ConfigurationError(exc.message, field="password_command") from None


# --- the connection ------------------------------------------------------------------------


def connect(
    account: ImapAccount, password: str, *, ssl_context: ssl.SSLContext | None = None
) -> Any:
    """A logged-in IMAPClient for *account*; :class:`ImapError` in one line when
    the server cannot be reached or refuses the login."""
    from imapclient import IMAPClient
    from imapclient.exceptions import IMAPClientError, LoginError

    where = f"{account.host}:{account.effective_port}"
    context = ssl_context or ssl.create_default_context()
    try:
        client = IMAPClient(
            account.host,
            port=account.effective_port,
            ssl=account.security == "ssl",
            ssl_context=context if account.security == "ssl" else None,
            timeout=account.timeout,
        )
    except (OSError, IMAPClientError) as exc:
        raise ImapError(
            f"cannot reach the IMAP server {where}: {_reason(exc)}", field="host"
        ) from None
    try:
        if account.security == "starttls":
            client.starttls(context)
        if account.oauth:
            client.oauth2_login(account.user, password)  # the access token
        else:
            client.login(account.user, password)
    except LoginError as exc:
        _close(client)
        raise ImapError(
            f"the IMAP server {where} refused the login of {account.user}: {_reason(exc)}",
            field="user",
        ) from None
    except (OSError, IMAPClientError) as exc:
        _close(client)
        raise ImapError(f"IMAP server {where}: {_reason(exc)}", field="host") from None
    return client


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return "no such host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer (timed out)"
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(str(text).split())
    return text or type(exc).__name__


def _close(client: Any) -> None:
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


@contextlib.contextmanager
def session_for(
    account: ImapAccount, password: str, *, ssl_context: ssl.SSLContext | None = None
) -> Iterator[Any]:
    """:func:`connect`, logged out at the end."""
    client = connect(account, password, ssl_context=ssl_context)
    try:
        yield client
    finally:
        _close(client)


# --- fetching ------------------------------------------------------------------------------


@dataclass
class FetchReport:
    account: str
    folder: str
    uidvalidity: int
    #: The folder was renumbered (or never read): read from the start.
    rescanned: bool = False
    #: New messages found in the folder (UIDs after the last one read).
    found: int = 0
    read: int = 0
    duplicates: int = 0
    moved: int = 0
    messages: list[ImportedMessage] = field(default_factory=list)

    def _with(self, status: str) -> list[ImportedMessage]:
        return [m for m in self.messages if m.status == status]

    @property
    def matched(self) -> list[ImportedMessage]:
        return self._with("matched")

    @property
    def unmatched(self) -> list[ImportedMessage]:
        return self._with("unmatched")

    @property
    def ignored(self) -> list[ImportedMessage]:
        return self._with("ignored")

    @property
    def problems(self) -> list[ImportedMessage]:
        return [m for m in self.messages if m.problem]


def fetch_folder(
    database: Database,
    account: ImapAccount,
    *,
    password: str,
    store: AttachmentStore,
    since: dt.date | None = None,
    move_to: str | None = None,
    own_addresses: Sequence[str] = (),
    progress: Callable[[int, int | None], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    batch: int = BATCH,
) -> FetchReport:
    """Read the messages of *account*'s folder not read before and import
    them; see the module's docstring. Each batch is its own transaction."""
    with session_for(account, password, ssl_context=ssl_context) as client:
        uidvalidity = _select(client, account, move_to)
        last_uid = _last_uid(database, account, uidvalidity)
        report = FetchReport(account.key, account.folder, uidvalidity, rescanned=last_uid == 0)
        uids = _new_uids(client, last_uid, since)
        report.found = len(uids)
        if progress is not None:
            progress(0, len(uids))
        for start in range(0, len(uids), batch):
            chunk = uids[start : start + batch]
            raws = _read(client, account, chunk)
            _import_batch(database, account, report, raws, chunk[-1], store, own_addresses)
            if move_to:
                _move(client, chunk, move_to)
                report.moved += len(chunk)
            if progress is not None:
                progress(start + len(chunk), len(uids))
        if not uids:
            _import_batch(database, account, report, [], last_uid, store, own_addresses)
    return report


def _select(client: Any, account: ImapAccount, move_to: str | None) -> int:
    """Open the folder (read-only unless messages are to be moved); its UIDVALIDITY."""
    from imapclient.exceptions import IMAPClientError

    if move_to:
        if not client.folder_exists(move_to):
            raise ImapError(f"no folder {move_to!r} on the IMAP server", field="move_to")
        if not (client.has_capability("MOVE") or client.has_capability("UIDPLUS")):
            raise ImapError("the IMAP server cannot move messages (no MOVE or UIDPLUS)")
    try:
        info = client.select_folder(account.folder, readonly=not move_to)
    except IMAPClientError as exc:
        raise ImapError(
            f"cannot open the folder {account.folder!r}: {_reason(exc)}", field="folder"
        ) from None
    return int(info[b"UIDVALIDITY"])


def _new_uids(client: Any, last_uid: int, since: dt.date | None) -> list[int]:
    criteria: list[Any] = ["UID", f"{last_uid + 1}:*"]
    if since is not None:
        criteria += ["SINCE", since]
    # "n:*" always includes the folder's highest UID, even one below n.
    return sorted(uid for uid in client.search(criteria) if uid > last_uid)


def _read(client: Any, account: ImapAccount, uids: Sequence[int]) -> list[Any]:
    """The raw bytes of *uids*, read without setting \\Seen (``BODY.PEEK[]``)."""
    from outreach.responses.mailbox import RawMessage

    fetched = client.fetch(list(uids), ["BODY.PEEK[]"])
    out = []
    for uid in uids:
        data = fetched.get(uid, {}).get(b"BODY[]")
        if data is None:
            continue  # expunged meanwhile by another client
        out.append(RawMessage(f"{account.folder}#{uid}", bytes(data)))
    return out


def _move(client: Any, uids: Sequence[int], folder: str) -> None:
    if client.has_capability("MOVE"):
        client.move(list(uids), folder)
    else:
        client.copy(list(uids), folder)
        client.delete_messages(list(uids))
        client.uid_expunge(list(uids))


# --- what the database remembers -----------------------------------------------------------


def _last_uid(database: Database, account: ImapAccount, uidvalidity: int) -> int:
    """The last UID read from the folder, or 0 when it was never read or has
    been renumbered since."""
    with database.session() as session:
        return mailbox_position(session, account.key, account.folder, uidvalidity)


def _import_batch(
    database: Database,
    account: ImapAccount,
    report: FetchReport,
    raws: Sequence[Any],
    last_uid: int,
    store: AttachmentStore,
    own_addresses: Sequence[str],
) -> None:
    from outreach.responses.inbox import import_messages

    with database.session(immediate=True) as session:
        if raws:
            result = import_messages(
                session,
                f"{account.key}/{account.folder}",
                store=store,
                own_addresses=own_addresses,
                messages=raws,
            )
            report.read += result.read
            report.duplicates += result.duplicates
            report.messages.extend(result.messages)
        remember_position(
            session, account.key, account.folder, report.uidvalidity, last_uid
        )


def mailbox_position(session: Session, account: str, folder: str, uidvalidity: int) -> int:
    """The last UID read from *folder* of *account* while it had *uidvalidity*
    (0: never read, or renumbered since)."""
    import sqlalchemy as sa

    from outreach.schema.models import MailboxState

    row = session.scalar(
        sa.select(MailboxState).where(
            MailboxState.account == account, MailboxState.folder == folder
        )
    )
    if row is None or row.uidvalidity != uidvalidity:
        return 0
    return row.last_uid


def remember_position(
    session: Session, account: str, folder: str, uidvalidity: int, last_uid: int
) -> None:
    """Record that *folder* of *account* has been read up to *last_uid*."""
    import sqlalchemy as sa

    from outreach.schema.models import MailboxState

    row = session.scalar(
        sa.select(MailboxState).where(
            MailboxState.account == account, MailboxState.folder == folder
        )
    )
    if row is None:
        session.add(
            MailboxState(
                account=account, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid
            )
        )
    elif row.uidvalidity != uidvalidity:
        row.uidvalidity, row.last_uid = uidvalidity, last_uid
    else:
        row.last_uid = max(row.last_uid, last_uid)
    session.flush()


# --- copies of the letters sent ------------------------------------------------------------


@dataclass
class SentCopies:
    """What :func:`append_sent` did: letters copied, and those already there."""

    folder: str
    appended: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)


def append_sent(
    account: ImapAccount,
    messages: Sequence[tuple[int, str, bytes, dt.datetime]],
    *,
    password: str,
    ssl_context: ssl.SSLContext | None = None,
) -> SentCopies:
    """Put each sent letter's message (letter id, Message-ID, bytes, when it
    went) in *account*'s folder, marked read, as a mail client files what it
    sends; a message the folder holds already (same Message-ID) is left
    alone, so running it again adds nothing. The folder is made if missing."""
    report = SentCopies(folder=account.folder)
    with session_for(account, password, ssl_context=ssl_context) as client:
        try:
            if not client.folder_exists(account.folder):
                client.create_folder(account.folder)
            client.select_folder(account.folder)
            for letter_id, message_id, raw, when in messages:
                if client.search(["HEADER", "Message-ID", message_id]):
                    report.already.append(letter_id)
                    continue
                client.append(account.folder, raw, flags=[b"\\Seen"], msg_time=when)
                report.appended.append(letter_id)
        except Exception as exc:  # the server's words, in one line
            from imapclient.exceptions import IMAPClientError

            if isinstance(exc, IMAPClientError | OSError):
                raise ImapError(f"IMAP folder {account.folder!r}: {_reason(exc)}") from None
            raise
    return report
