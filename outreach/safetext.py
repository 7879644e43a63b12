"""Text from data that must stay data: what the door refuses, and how stored
text is shown on a terminal or written into XML.

The rules, used everywhere text enters outreach (directory fields, imports,
campaign options, template variables, sender identities):

- Control characters (Unicode category ``Cc``: C0, DEL, C1) are refused,
  except the whitespace ones (tab, CR, LF, VT, FF, NEL) which, with the line
  and paragraph separators U+2028/U+2029, are line breaks: a one-line field
  folds them into a space, a multi-line field turns them into ``\\n``.
- The invisible bidirectional embedding, override and isolate controls
  (U+202A-U+202E, U+2066-U+2069) are refused: they make text display as
  something else ("Trojan source"). The marks LRM/RLM/ALM are ordinary text.
- A one-line field holding an RFC 2047 encoded word (``=?utf-8?q?...?=``) is
  refused: it is a raw e-mail header pasted in, and would otherwise look like
  a pre-encoded header to a mail program. (Mail headers are built by
  :mod:`outreach.sending.headers`, which encodes such text so that it is literal
  in any case.)

On a terminal (table and ``show`` output, messages, errors) stored text goes
through :func:`for_terminal`, which shows every control character as a
visible Python-style escape (``\\x1b``, ``\\x9b``, ``\\u202e``), so that no
stored name can move the cursor, retitle the window or overwrite a line.
"""

from __future__ import annotations

import re
import unicodedata

#: Characters a mail program or a terminal takes as the end of a line.
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: Whitespace controls a field may hold (they become a space or a new line).
_WHITESPACE_CONTROLS = frozenset("\t\n\r\x0b\x0c\x85\u2028\u2029")
#: Bidirectional embedding/override/isolate controls.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: The start of an RFC 2047 encoded word: ``=?charset?Q?`` or ``=?charset?B?``.
ENCODED_WORD = re.compile(r"=\?[^?]*\?[bq]\?", re.IGNORECASE)
#: Characters shown as escapes on a terminal.
_TERMINAL_UNSAFE = re.compile(
    "\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_TERMINAL_UNSAFE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: Characters XML 1.0 forbids (python-docx/lxml refuse them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEW_LINES = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
#: What :func:`text_problem` looks at more closely (a fast first test).
_SUSPECT = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")
_FOLDABLE = re.compile("  |[\t\n\r\x0b\x0c\x85\u2028\u2029]")


def char_name(char: str) -> str:
    """``U+001B (ESCAPE)``: a character as an error message shows it."""
    name = unicodedata.name(char, "")
    if not name and unicodedata.category(char) == "Cc":
        name = _C0_NAMES.get(ord(char), "control character")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


_C0_NAMES = {
    0x00: "NUL",
    0x07: "BEL, bell",
    0x08: "backspace",
    0x1B: "ESC, escape",
    0x7F: "DEL, delete",
    0x85: "NEL, next line",
    0x9B: "CSI, control sequence introducer",
}


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why *value* may not be stored as text (``None`` when it may).

    *multiline* fields (notes, postal addresses, template variables) may
    hold line breaks and encoded-word look-alikes; one-line fields may not
    hold encoded words (line breaks in them are folded by the caller).
    """
    if _SUSPECT.search(value) is None and (multiline or "=?" not in value):
        return None
    for char in value:
        if char in BIDI_CONTROLS:
            return (
                f"contains the invisible bidirectional control {char_name(char)}, which "
                "makes text display as something else; remove it"
            )
        if char in _WHITESPACE_CONTROLS or char.isprintable() or char == " ":
            continue
        if char == "\x00":
            return "contains a NUL character (0x00); remove it"
        if unicodedata.category(char) == "Cc":
            return f"contains the control character {char_name(char)}; remove it"
    if not multiline and ENCODED_WORD.search(value):
        return (
            "contains an e-mail encoded word (=?charset?Q?...?=), text copied from a raw "
            "mail header; write the decoded text instead"
        )
    return None


def needs_folding(value: str) -> bool:
    """Whether :func:`one_line` would change *value* (double spaces, line breaks, tabs)."""
    return _FOLDABLE.search(value) is not None


def one_line(value: str) -> str:
    """*value* with every run of whitespace and line breaks as one space."""
    return " ".join(value.split())


def new_lines(value: str) -> str:
    """*value* with every kind of line break as ``\\n``."""
    return _NEW_LINES.sub("\n", value)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str, *, multiline: bool = False) -> str:
    """*text* safe to print: control characters, line/paragraph separators and
    bidi controls shown as visible escapes (``\\x1b``). With *multiline*, tabs,
    line feeds and CR LF pairs are kept (a lone CR is not); otherwise they
    are escaped too."""
    pattern = _TERMINAL_UNSAFE if multiline else _TERMINAL_UNSAFE_LINE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escape, text)


#: What JSON may hold raw but a terminal acts on: DEL, C1, separators, bidi controls.
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_for_terminal(text: str) -> str:
    """JSON *text* (from ``json.dumps``, which escapes C0 itself) with DEL, C1
    controls, line/paragraph separators and bidi controls written as ``\\u``
    escapes: the same JSON value, safe to print."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def for_xml(text: str) -> str:
    """*text* with the characters XML 1.0 forbids replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)
