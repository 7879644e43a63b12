"""A raw-socket SMTP server on loopback that misbehaves on cue.

It speaks just enough SMTP for ``SmtpTransport`` (EHLO, AUTH, MAIL, RCPT,
DATA, RSET, NOOP, QUIT) and keeps every message it accepts, so that tests can
count copies by Message-ID. A *fault* replaces the server's answer at one
stage, once (the first time that stage is reached; later connections and
messages are answered properly):

- stage ``"mail"``, ``"rcpt"``, ``"data"`` (the DATA command) or ``"dot"``
  (the end of the message);
- ``reply``: raw bytes sent instead of the proper answer (``b""`` for none);
- ``then``: ``"go-on"`` (keep talking), ``"close"`` (close the socket),
  ``"reset"`` (close with a TCP reset) or ``"silence"`` (say nothing more
  and wait for the client to give up);
- ``keep``: at ``"dot"``, whether the server kept the message anyway (a
  server that accepted it and then failed to say so).
"""

from __future__ import annotations

import collections
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default


@dataclass
class Fault:
    stage: str
    reply: bytes = b""
    then: str = "go-on"
    keep: bool = False


@dataclass
class BadSmtpServer:
    faults: list[Fault] = field(default_factory=list)
    #: Every message kept, as received (dot-unstuffed).
    kept: list[bytes] = field(default_factory=list)
    #: AUTH commands seen (to tell whether a password went over the wire).
    auth_lines: list[bytes] = field(default_factory=list)
    offer_auth: bool = False
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)  # so that the accepting thread sees stop()
        self.host, self.port = self._sock.getsockname()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: list[socket.socket] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    # -- what the tests look at ---------------------------------------------------

    def message_ids(self) -> collections.Counter[str]:
        with self.lock:
            kept = list(self.kept)
        return collections.Counter(
            str(message_from_bytes(m, policy=default)["Message-ID"]).strip() for m in kept
        )

    def argv(self) -> list[str]:
        return ["--smtp-host", self.host, "--smtp-port", str(self.port), "--smtp-security", "none"]

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads[:1]:
            t.join(5)
        self._sock.close()
        with self.lock:
            clients = list(self._clients)
        for c in clients:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        for t in self._threads:
            t.join(5)

    # -- the server -------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(30)
            with self.lock:
                self.connections += 1
                self._clients.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _fault(self, stage: str) -> Fault | None:
        with self.lock:
            for i, f in enumerate(self.faults):
                if f.stage == stage:
                    return self.faults.pop(i)
        return None

    def _serve(self, conn: socket.socket) -> None:
        f = conn.makefile("rb")
        try:
            conn.sendall(b"220 bad.example ESMTP\r\n")
            while True:
                line = f.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    extra = b"250-AUTH PLAIN LOGIN\r\n" if self.offer_auth else b""
                    conn.sendall(b"250-bad.example\r\n" + extra + b"250 8BITMIME\r\n")
                elif verb == b"AUTH":
                    with self.lock:
                        self.auth_lines.append(line)
                    conn.sendall(b"235 2.7.0 ok\r\n")
                elif verb in (b"MAIL", b"RCPT", b"DATA"):
                    stage = verb.decode().lower()
                    proper = b"354 go ahead\r\n" if stage == "data" else b"250 ok\r\n"
                    fault = self._fault(stage)
                    if fault is None:
                        conn.sendall(proper)
                    elif not self._misbehave(conn, f, fault):
                        return
                    if stage == "data" and fault is None and not self._take_message(conn, f):
                        return
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:  # RSET, NOOP and anything else
                    conn.sendall(b"250 ok\r\n")
        except OSError:
            return
        finally:
            f.close()
            conn.close()

    def _take_message(self, conn: socket.socket, f) -> bool:
        lines = []
        while True:
            line = f.readline()
            if not line:
                return False  # cut off before the dot: nothing is delivered
            if line == b".\r\n":
                break
            lines.append(line[1:] if line.startswith(b".") else line)
        data = b"".join(lines)
        fault = self._fault("dot")
        if fault is None:
            with self.lock:
                self.kept.append(data)
            conn.sendall(b"250 2.0.0 queued\r\n")
            return True
        if fault.keep:
            with self.lock:
                self.kept.append(data)
        return self._misbehave(conn, f, fault)

    def _misbehave(self, conn: socket.socket, f, fault: Fault) -> bool:
        """Answer with the fault; False when the connection is finished."""
        if fault.reply:
            conn.sendall(fault.reply)
        if fault.then == "close":
            conn.shutdown(socket.SHUT_RDWR)
            return False
        if fault.then == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if fault.then == "silence":
            while f.readline():  # until the client hangs up
                pass
            return False
        return True
