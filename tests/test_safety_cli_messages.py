"""Messages that quote file-derived text show control characters as escapes.

`responses import FOLDER` warns about each message it cannot read, naming it
by its file: a file name may hold ESC, OSC, BEL or a lone CR (any byte but
NUL and "/"). The warning line used to print it raw, so a mail folder from
elsewhere could retitle the terminal or overwrite the line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

NAMES = [
    "title\x1b]0;owned\x07.eml",
    "clear\x1b[2J\x1b[H.eml",
    "over\rwrite.eml",
    "c1\u009b2J.eml",
    "bidi\u202elme.eml",
]


def deep_mime(depth: int) -> bytes:
    """A message with multipart parts nested *depth* levels deep (a problem
    to read by hand)."""
    out = [b"From: someone@else.example", b"Subject: deep"]
    out += [b"Content-Type: multipart/mixed; boundary=b0", b""]
    for i in range(1, depth):
        out += [b"--b%d" % (i - 1), b"Content-Type: multipart/mixed; boundary=b%d" % i, b""]
    out += [b"--b%d" % (depth - 1), b"Content-Type: text/plain", b"", b"deep", b""]
    return b"\r\n".join(out)


@pytest.mark.parametrize("name", NAMES)
def test_import_warning_escapes_the_file_name(run, tmp_path: Path, name: str):
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / name).write_bytes(deep_mime(60))
    result = run("responses", "import", folder)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1, result.stderr
    assert "could not be read" in warnings[0]
    assert _RAW.findall(result.output.replace("\r\n", "\n")) == [], result.output
    shown = name.encode("unicode_escape").decode("ascii").replace("\\r", "\\x0d")
    assert shown in warnings[0]
