"""A tiny, bounded-in-time driver for headless Chromium over the DevTools
protocol, talking through ``--remote-debugging-pipe`` (file descriptors 3
and 4, NUL-separated JSON), so no websocket library is needed.

Used by the report tests to open an HTML file and record console errors,
uncaught exceptions, every network request, a screenshot and a PDF print.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-sync",
    "--disable-component-update",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageVisit:
    """What happened while a page was open."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    evaluated: Any = None
    screenshot: bytes = b""
    pdf: bytes = b""

    @property
    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:", "about:"))]


class DevToolsError(RuntimeError):
    pass


class Chromium:
    """One headless browser; use as a context manager."""

    def __init__(self, binary: str, *, timeout: float = 60.0, width: int = 1280) -> None:
        self.binary = binary
        self.timeout = timeout
        self.width = width
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._profile = tempfile.mkdtemp(prefix="outreach-chromium-")
        self.stderr_path = Path(self._profile) / "stderr.log"

    # -- process ----------------------------------------------------------------

    def __enter__(self) -> Chromium:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Move the child's ends out of the way of 3 and 4 before dup2 in the child.
        import fcntl

        hi_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 100)
        hi_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 100)
        os.close(to_child_r)
        os.close(from_child_w)

        def child_setup() -> None:  # runs in the child, before exec
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)
            os.setsid()

        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            close_fds=False,
            preexec_fn=child_setup,  # places the pipe on fds 3 and 4
        )
        os.close(hi_r)
        os.close(hi_w)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(DevToolsError, OSError, TimeoutError):
                    self._send("Browser.close", deadline=time.monotonic() + 5)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=5)
        finally:
            for fd in (self._to_child, self._from_child):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._stderr.close()
            shutil.rmtree(self._profile, ignore_errors=True)

    # -- protocol ---------------------------------------------------------------

    def _send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        deadline: float,
    ) -> dict[str, Any]:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise DevToolsError(
                    "Chromium closed the DevTools pipe:\n"
                    + self.stderr_path.read_text(errors="replace")[-2000:]
                )
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _wait_event(self, method: str, session: str, deadline: float) -> dict[str, Any]:
        for i, event in enumerate(self._events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self._events.pop(i)
        while True:
            event = self._read(deadline)
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            self._events.append(event)

    # -- the one thing the tests need -----------------------------------------------

    def visit(self, path: Path, *, evaluate: str | None = None, pdf: bool = False) -> PageVisit:
        """Open *path*, wait for it to load and settle, and report what happened."""
        deadline = time.monotonic() + self.timeout
        url = path.resolve().as_uri()
        target = self._send("Target.createTarget", {"url": "about:blank"}, deadline=deadline)
        session = self._send(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            deadline=deadline,
        )["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self._send(f"{domain}.enable", session=session, deadline=deadline)
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
            deadline=deadline,
        )
        self._events.clear()
        self._send("Page.navigate", {"url": url}, session=session, deadline=deadline)
        self._wait_event("Page.loadEventFired", session, deadline)
        # Let late console messages and requests arrive.
        self._send(
            "Runtime.evaluate",
            {"expression": "new Promise(r => setTimeout(r, 300))", "awaitPromise": True},
            session=session,
            deadline=deadline,
        )
        visit = PageVisit(url=url)
        if evaluate:
            result = self._send(
                "Runtime.evaluate",
                {"expression": evaluate, "returnByValue": True},
                session=session,
                deadline=deadline,
            )
            if "exceptionDetails" in result:
                raise DevToolsError(f"evaluate failed: {result['exceptionDetails']}")
            visit.evaluated = result["result"].get("value")
        metrics = self._send("Page.getLayoutMetrics", session=session, deadline=deadline)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self._send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": min(size["height"], 16000),
                    "scale": 1,
                },
            },
            session=session,
            deadline=deadline,
        )
        visit.screenshot = base64.b64decode(shot["data"])
        if pdf:
            printed = self._send(
                "Page.printToPDF", {"printBackground": True}, session=session, deadline=deadline
            )
            visit.pdf = base64.b64decode(printed["data"])
        for event in self._events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                visit.console_errors.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                )
            elif method == "Runtime.exceptionThrown":
                visit.exceptions.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                visit.log_errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                visit.failed_requests.append(params.get("errorText", ""))
        self._send("Target.closeTarget", {"targetId": target["targetId"]}, deadline=deadline)
        return visit
