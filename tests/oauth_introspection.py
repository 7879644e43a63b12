"""An OAuth2 token introspection endpoint (RFC 7662) for the test Dovecot: the
token ``token-for-USER`` is valid for USER, any other is not.

Run as its own process (``python -m tests.oauth_introspection PORT``), so that
the test process keeps no server thread: letter generation forks its renderer
only when no other thread runs."""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs


class Introspection(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        token = parse_qs(body).get("token", [""])[0]
        user = token.removeprefix("token-for-") if token.startswith("token-for-") else None
        answer = {"active": True, "username": user} if user else {"active": False}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Introspection).serve_forever()
