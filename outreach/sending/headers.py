"""Mail header values made from data, built by outreach itself, byte for byte.

The standard library's header classes decode any RFC 2047 encoded word
(``=?utf-8?q?...?=``) they find in a value, in a display name even inside
quotes, and fold what they decoded back into the message; CPython builds
without the CVE-2024-6923 fix (3.11.7, for one) write a decoded CR/LF out as
a real line break, i.e. a new header such as ``Bcc:``. So no header made from
data goes through them. Here a value is

1. checked: no control character (C0, DEL, C1), no line or paragraph
   separator, no lone surrogate -- :class:`HeaderError` otherwise;
2. written as ASCII words, a quoted string, or encoded words made here, so an
   encoded word found in the data is encoded again and reads as the literal
   text it is (never as a pre-encoded header);
3. folded by hand at 78 characters and checked once more: printable ASCII,
   every line break followed by a space.

:func:`put` stores it in the message with ``set_raw``; with a policy whose
``refold_source`` is ``"none"`` (:data:`POLICY`) the generator writes it out
as it is.
"""

from __future__ import annotations

import base64
import email.policy
import functools
import re
import unicodedata
from email.message import EmailMessage

from outreach.safetext import char_name

#: Recommended line length (RFC 5322 2.1.1); the hard limit is 998.
MAX_LINE = 78
HARD_LIMIT = 998

#: ``email.policy.SMTP`` that never re-folds a raw header value.
POLICY = email.policy.SMTP.clone(refold_source="none")


class HeaderError(ValueError):
    """A value cannot safely become a mail header."""


_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
#: A printable ASCII address: dot-atom local part, a host name.
_ADDR_SPEC = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9_.-]+")
#: ``<left@right>``, printable ASCII without ``<``, ``>``, ``@`` or space.
_MSG_ID = re.compile(r"<[!-;=?A-~]+@[!-;=?A-~]+>")
#: RFC 5322 atext.
_ATEXT = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
)
#: Bytes a 'Q' encoded word in a phrase may hold as they are (RFC 2047 5(3)).
_Q_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/")
#: A safe folded value: printable ASCII lines, each continuation starting with a space.
_FOLDED = re.compile(r"[ -~]*(?:\r\n [ -~]*[!-~][ -~]*)*")


def has_line_break(value: str) -> bool:
    """Whether *value* holds a line or paragraph break of any kind (CR, LF,
    VT, FF, NEL, the Unicode separators)."""
    return any(char in _LINE_BREAKS for char in value)


#: What outreach takes for an e-mail address: one @, a dot in the domain,
#: no space, no bracket, quote or other special.
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\]+$")


def looks_like_address(value: str) -> bool:
    return bool(_ADDRESS.match(value.strip()))


def usable_message_id(value: str | None) -> str | None:
    """*value* if it can go into a header as it is (ASCII, one ``<id@domain>``)."""
    if value and len(value) <= 900 and _MSG_ID.fullmatch(value):
        return value
    return None


def check(value: str, what: str) -> str:
    """*value*, or :class:`HeaderError` if it holds a character no header may."""
    if value.isprintable():
        return value
    for char in value:
        if char in _LINE_BREAKS:
            raise HeaderError(f"{what} contains a line break (refused: header injection)")
        category = unicodedata.category(char)
        if category == "Cc":
            raise HeaderError(
                f"{what} contains the control character {char_name(char)} (refused: "
                "a mail header may not hold it); fix it in the directory or the campaign"
            )
        if category == "Cs":
            raise HeaderError(f"{what} contains an invalid character {char_name(char)}")
    return value


def addr_spec(address: str, what: str) -> str:
    """*address* if it is a plain printable-ASCII ``local@domain``."""
    if not _ADDR_SPEC.fullmatch(address) or len(address) > 320:
        raise HeaderError(f"{what} {address!r} is not an e-mail address")
    return address


def message_id(value: str, what: str = "the Message-ID") -> str:
    if not _MSG_ID.fullmatch(value) or len(value) > 900:
        raise HeaderError(f"{what} {value!r} is not a Message-ID")
    return value


def _q_word(data: bytes) -> str:
    return "".join(chr(b) if b in _Q_SAFE else "_" if b == 0x20 else f"={b:02X}" for b in data)


def encoded_words(text: str, width: int = 75) -> list[str]:
    """*text* as UTF-8 encoded words of at most *width* characters each
    (characters are never split), 'Q' or 'B', whichever is shorter."""
    data = text.encode("utf-8")
    q_cost = sum(1 if b in _Q_SAFE or b == 0x20 else 3 for b in data)
    use_q = q_cost <= (len(data) + 2) // 3 * 4
    room = max(width, 20) - len("=?utf-8?q??=")
    words: list[str] = []
    chunk = bytearray()
    size = 0
    for char in text:
        piece = char.encode("utf-8")
        if use_q:
            cost = sum(1 if b in _Q_SAFE or b == 0x20 else 3 for b in piece)
            grown = size + cost
        else:
            grown = (len(chunk) + len(piece) + 2) // 3 * 4
        if chunk and grown > room:
            words.append(_word(bytes(chunk), use_q))
            chunk = bytearray()
            size = 0
            grown = cost if use_q else (len(piece) + 2) // 3 * 4
        chunk += piece
        size = grown
    if chunk:
        words.append(_word(bytes(chunk), use_q))
    return words


def _word(data: bytes, use_q: bool) -> str:
    if use_q:
        return f"=?utf-8?q?{_q_word(data)}?="
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


def _plain_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable() and "=?" not in text


def _fold_words(first: int, words: list[str]) -> list[str]:
    """*words* on lines of at most :data:`MAX_LINE` (the first has *first*
    characters already), one space between them; a word never splits."""
    lines = [words[0]]
    used = first + len(words[0])
    for word in words[1:]:
        if used + 1 + len(word) <= MAX_LINE:
            lines[-1] += " " + word
            used += 1 + len(word)
        else:
            lines.append(" " + word)
            used = 1 + len(word)
    return lines


def _finish(name: str, lines: list[str]) -> str:
    value = "\r\n".join(lines)
    if not _FOLDED.fullmatch(value) or any(
        len(line) > HARD_LIMIT for line in (name + ": " + value).split("\r\n")
    ):
        raise HeaderError(f"the {name} header could not be made safe")
    return value


@functools.lru_cache(maxsize=1024)
def unstructured(name: str, text: str, what: str) -> str:
    """The folded value of an unstructured header (Subject) holding *text*."""
    text = check(text, what).strip()
    first = len(name) + 2
    if _plain_ascii(text) and "  " not in text:
        lines = _fold_words(first, text.split(" "))
        if all(len(line) <= MAX_LINE for line in [" " * first + lines[0], *lines[1:]]):
            return _finish(name, lines)
    return _finish(name, _fold_words(first, encoded_words(text, min(75, MAX_LINE - first))))


def _phrase_words(display_name: str, width: int) -> list[str]:
    """The display name as phrase words: atoms, one quoted string, or encoded words."""
    if _plain_ascii(display_name):
        words = display_name.split(" ")
        if all(words) and all(set(word) <= _ATEXT for word in words):
            return words
        if "\\" not in display_name and '"' not in display_name:
            return ['"' + display_name + '"']
        return ['"' + display_name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    return encoded_words(display_name, width)


@functools.lru_cache(maxsize=1024)
def mailbox(name: str, display_name: str | None, address: str, what: str) -> str:
    """The folded value of an address header (From, To, Reply-To):
    ``Display Name <local@domain>``, or the bare address without a name.
    *what* names the address in errors ("the From address")."""
    address = addr_spec(address, what)
    display_name = check(display_name or "", what.removesuffix(" address") + " name").strip()
    first = len(name) + 2
    if not display_name:
        return _finish(name, [address])
    width = min(75, MAX_LINE - first)
    words = _phrase_words(display_name, width)
    if first + max(len(word) for word in words) > MAX_LINE:
        words = encoded_words(display_name, width)  # a long atom or quoted string
    return _finish(name, _fold_words(first, [*words, f"<{address}>"]))


_PARAM_SAFE = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~"
)


def disposition(filename: str, what: str = "the attachment's file name") -> str:
    """The folded value of ``Content-Disposition: attachment`` for *filename*:
    a quoted string when it is short printable ASCII, else RFC 2231
    (``filename*0*=utf-8''...``) in pieces of one line each."""
    filename = check(filename, what).strip() or "attachment"
    first = len("Content-Disposition: attachment; ")
    if (
        _plain_ascii(filename)
        and '"' not in filename
        and "\\" not in filename
        and first + len(filename) + len('filename=""') <= MAX_LINE
    ):
        return _finish("Content-Disposition", [f'attachment; filename="{filename}"'])
    encoded = "".join(
        chr(b) if b in _PARAM_SAFE else f"%{b:02X}" for b in filename.encode("utf-8")
    )
    pieces: list[str] = []
    chunk = "utf-8''"
    i = 0
    while i < len(encoded):
        step = 3 if encoded[i] == "%" else 1
        if len(chunk) + step > 56:
            pieces.append(chunk)
            chunk = ""
        chunk += encoded[i : i + step]
        i += step
    pieces.append(chunk)
    params = [f"filename*{n}*={piece}" for n, piece in enumerate(pieces)]
    lines = ["attachment;"] + [
        f" {param}{';' if n < len(params) - 1 else ''}" for n, param in enumerate(params)
    ]
    return _finish("Content-Disposition", lines)


def put(msg: EmailMessage, name: str, value: str) -> None:
    """Store the folded *value* (from this module) as header *name*, as it is."""
    _finish(name, value.split("\r\n"))
    msg.set_raw(name, value)


__all__ = [
    "POLICY",
    "HeaderError",
    "addr_spec",
    "check",
    "disposition",
    "encoded_words",
    "mailbox",
    "message_id",
    "put",
    "unstructured",
]
