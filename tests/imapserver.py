"""A real Dovecot IMAP server for the tests, on loopback with a throwaway
configuration: a free port, everything under one temporary folder, users in a
passwd-file, mail in Maildirs there.

``DovecotServer(root, tls=False)`` serves plain IMAP (``ssl = no``);
``tls=True`` makes a self-signed certificate for 127.0.0.1 with ``openssl``
and serves STARTTLS on ``port`` and implicit TLS on ``ssl_port``.
Users are added with :meth:`add_user` (a passwd-file each, seen at once).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def available() -> bool:
    return Path(DOVECOT).is_file()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _internal_user() -> tuple[str, str]:
    """The unprivileged users Dovecot drops to (its package creates them)."""
    import pwd

    def exists(name: str) -> bool:
        try:
            pwd.getpwnam(name)
        except KeyError:
            return False
        return True

    if os.geteuid() == 0 and exists("dovecot") and exists("dovenull"):
        return "dovecot", "dovenull"
    me = pwd.getpwuid(os.getuid()).pw_name
    return me, me


def _mail_owner() -> tuple[int, int]:
    """Who owns the mail: Dovecot never serves mail as root, so as root the
    mail belongs to its internal user."""
    import pwd

    if os.geteuid() == 0:
        entry = pwd.getpwnam(_internal_user()[0])
        return entry.pw_uid, entry.pw_gid
    return os.getuid(), os.getgid()


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 and localhost."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key


class DovecotServer:
    def __init__(
        self, root: Path, *, tls: bool = False, introspection_url: str | None = None
    ) -> None:
        self.root = Path(root)
        self.tls = tls
        #: With an OAuth2 token introspection URL (RFC 7662), XOAUTH2 and
        #: OAUTHBEARER logins are accepted for the users it vouches for.
        self.introspection_url = introspection_url
        self.host = "127.0.0.1"
        self.port = free_port()
        self.ssl_port = free_port() if tls else None
        self.cert: Path | None = None
        self.process: subprocess.Popen | None = None
        self.passwd = self.root / "passwd"
        self.users: dict[str, str] = {}

    # --- configuration ---------------------------------------------------------------

    def _config(self) -> str:
        internal, login = _internal_user()
        uid, gid = _mail_owner()
        lines = [
            f"base_dir = {self.root / 'run'}",
            f"state_dir = {self.root / 'state'}",
            f"log_path = {self.root / 'dovecot.log'}",
            f"info_log_path = {self.root / 'dovecot.log'}",
            "protocols = imap",
            f"listen = {self.host}",
            f"default_internal_user = {internal}",
            f"default_login_user = {login}",
            f"default_internal_group = {internal}",
            "first_valid_uid = 0",
            "first_valid_gid = 0",
            "auth_mechanisms = plain login"
            + (" xoauth2 oauthbearer" if self.introspection_url else ""),
            "disable_plaintext_auth = no",
            f"mail_location = maildir:{self.root / 'mail'}/%u",
            "mail_privileged_group =",
            *self._oauth_passdb(),
            "passdb {",
            "  driver = passwd-file",
            # One file per user: a new user is seen at once.
            f"  args = scheme=PLAIN username_format=%u {self.passwd}/%u",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={uid} gid={gid} home={self.root / 'home'}/%u",
            "}",
            "namespace inbox {",
            "  inbox = yes",
            "  separator = /",
            "}",
            "service imap-login {",
            "  chroot =",
            "  inet_listener imap {",
            f"    address = {self.host}",
            f"    port = {self.port}",
            "  }",
            "  inet_listener imaps {",
            f"    port = {self.ssl_port or 0}",
            "  }",
            "}",
            "service anvil {",
            "  chroot =",
            "}",
            "service stats {",
            "  inet_listener http {",
            "    port = 0",
            "  }",
            "}",
        ]
        if self.tls:
            self.cert, key = make_certificate(self.root)
            lines += ["ssl = yes", f"ssl_cert = <{self.cert}", f"ssl_key = <{key}"]
        else:
            lines.append("ssl = no")
        return "\n".join(lines) + "\n"

    def _oauth_passdb(self) -> list[str]:
        if not self.introspection_url:
            return []
        conf = self.root / "oauth2.conf.ext"
        conf.write_text(
            "introspection_mode = post\n"
            f"introspection_url = {self.introspection_url}\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n",
            encoding="utf-8",
        )
        conf.chmod(0o644)
        return [
            "passdb {",
            "  driver = oauth2",
            "  mechanisms = xoauth2 oauthbearer",
            f"  args = {conf}",
            "}",
        ]

    # --- life --------------------------------------------------------------------------

    def start(self) -> DovecotServer:
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        uid, gid = _mail_owner()
        for sub in ("mail", "home"):
            os.chown(self.root / sub, uid, gid)
        os.chmod(self.root, 0o755)
        self.passwd.mkdir(exist_ok=True)
        self.conf = self.root / "dovecot.conf"
        self.conf.write_text(self._config())
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out = self.process.stdout.read() if self.process.stdout else b""
                out = out.decode(errors="replace")
                raise RuntimeError(f"dovecot exited: {out}\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # --- users and their mail ----------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        self.users[name] = password
        tmp = self.passwd / f".{name}.tmp"
        tmp.write_text(f"{name}:{{PLAIN}}{password}::::::\n")
        tmp.replace(self.passwd / name)

    def maildir(self, user: str) -> Path:
        return self.root / "mail" / user

    def deliver(self, user: str, data: bytes, name: str) -> Path:
        """Drop a message into the user's INBOX Maildir (``new/``), as a local
        delivery agent would."""
        uid, gid = _mail_owner()
        box = self.maildir(user)
        for folder in (box, box / "cur", box / "new", box / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
            os.chown(folder, uid, gid)
        path = box / "new" / f"{int(time.time())}.{name}.test"
        tmp = box / "tmp" / path.name
        tmp.write_bytes(data)
        os.chown(tmp, uid, gid)
        tmp.replace(path)
        return path
