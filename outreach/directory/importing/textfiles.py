"""Text files as text: which encoding a CSV, JSON or vCard file is in.

Without an encoding given, a byte-order mark decides (UTF-8, UTF-16 LE/BE,
UTF-32 LE/BE); a file without one is UTF-8 if it decodes as UTF-8, else
cp1252 (Windows Western, what spreadsheets on Windows save as "CSV"). cp1252
is the only 8-bit guess: latin-1 reads the same letters but turns the curly
quotes, dashes, € and œ of cp1252 into invisible control characters. A file
that is neither (bytes 0x81, 0x8D, 0x8F, 0x90 or 0x9D, which cp1252 leaves
undefined) is refused with a request for its encoding. Files that are not
text at all (a workbook, a ZIP archive, UTF-16 without its mark) are refused
with what they seem to be.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from outreach.directory.importing.columns import Problems
from outreach.errors import ConfigurationError, ValidationError

#: Byte-order marks, longest first (UTF-32 LE starts like UTF-16 LE).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

#: How an encoding is named to the user (Python's name when not listed).
LABELS = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32": "UTF-32",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
    "cp1252": "cp1252 (Windows Western)",
    "cp1250": "cp1250 (Windows Central European)",
    "cp1251": "cp1251 (Windows Cyrillic)",
    "cp1256": "cp1256 (Windows Arabic)",
    "iso8859-1": "latin-1 (ISO 8859-1)",
    "iso8859-15": "latin-9 (ISO 8859-15)",
    "mac-roman": "Mac Roman",
    "cp437": "cp437 (DOS)",
    "cp850": "cp850 (DOS Western)",
}

#: C0 controls no text file holds (tab, line breaks and form feeds are allowed).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f]")
#: The start of a ZIP archive (an .xlsx, .ods or .docx file) and of an OLE
#: compound file (an .xls workbook, or an encrypted .xlsx).
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Decoded:
    """A file's text, the codec it was read with, and a note for the user
    when that was not UTF-8 (``None`` for UTF-8)."""

    text: str
    encoding: str
    note: str | None


def label(encoding: str) -> str:
    return LABELS.get(encoding, encoding)


#: What an encoding's name is made of (Python's own names and aliases).
_ENCODING_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,39}")
#: Codecs that are no encoding of a file.
_NOT_FILE_ENCODINGS = frozenset({"undefined", "unicode-escape", "raw-unicode-escape"})


def check_encoding(name: str) -> str:
    """The codec *name* names (Python's spelling: ``"Latin1"`` -> ``"iso8859-1"``),
    or :class:`ConfigurationError` if it names no text encoding."""
    text = name.strip()
    codec = None
    if _ENCODING_NAME.fullmatch(text):
        try:
            info = codecs.lookup(text)
        except (LookupError, ValueError):
            info = None
        if (
            info is not None
            and getattr(info, "_is_text_encoding", True)  # not rot13, base64, zlib...
            and info.name not in _NOT_FILE_ENCODINGS
        ):
            codec = info.name
    if codec is None:
        raise ConfigurationError(
            f"{text[:40]!r} is not a text encoding Python knows; use one such as utf-8, "
            "utf-16, cp1252, latin-1, mac-roman or cp1251",
            field="encoding",
        )
    return codec


def _fits_mark(codec: str, marked: str) -> bool:
    """Whether a file with the byte-order mark of *marked* may be read as *codec*."""
    return codec in (marked, marked.rsplit("-", 1)[0]) or (
        marked == "utf-8" and codec == "utf-8-sig"
    )


def _line_of(data: bytes, offset: int, encoding: str) -> int:
    return data[:offset].decode(encoding, errors="replace").count("\n") + 1


def _not_text(path: str, data: bytes, *, nul_check: bool) -> None:
    """Refuse a file that is plainly not text, saying what it seems to be."""
    if data.startswith(ZIP_MAGIC):
        raise ConfigurationError(
            f"{path}: is a ZIP archive (an .xlsx workbook?), not a text file; name it .xlsx, "
            "or name its format xlsx",
            option="from",
        )
    if data.startswith(OLE_MAGIC):
        raise ConfigurationError(
            f"{path}: is an Excel 97-2003 workbook (.xls) or a password-protected file, not "
            'text; save it from the spreadsheet program as .xlsx or as "CSV UTF-8" and '
            "import that"
        )
    sample = data[:4096]
    if nul_check and sample.count(0) * 4 > len(sample):
        raise ValidationError(
            f"{path}: holds NUL bytes throughout: UTF-16 text without a byte-order mark, "
            "or not text at all; give its encoding (utf-16-le or utf-16-be)",
            option="encoding",
        )


def decode_text(data: bytes, problems: Problems, encoding: str | None = None) -> Decoded:
    """*data* as text: in *encoding* if given (checked against a byte-order
    mark), else as the module says. Refusals are one line, naming the file."""
    path = problems.path
    bom = next(((mark, codec) for mark, codec in BOMS if data.startswith(mark)), None)
    if bom is None:
        _not_text(path, data, nul_check=encoding is None)
    if encoding is not None:
        return _decode_given(data, path, check_encoding(encoding), bom)
    if bom is not None:
        mark, codec = bom
        text = _strict(data[len(mark) :], codec, path, offset=len(mark), whole=data)
        note = None if codec == "utf-8" else f"read as {label(codec)} (its byte-order mark)"
        return Decoded(text, codec, note)
    try:
        return Decoded(data.decode("utf-8"), "utf-8", None)
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        byte = data[exc.start : exc.start + 1].hex().upper()
        raise ValidationError(
            f"{path}:{_line_of(data, exc.start, 'cp1252')}: byte 0x{byte} is neither UTF-8 "
            "nor cp1252 (Windows Western) text; give the file's encoding (such as latin-1, "
            "mac-roman, cp1250 or cp1251), or save it as UTF-8",
            option="encoding",
        ) from None
    text = text.removesuffix("\x1a")  # the end-of-file mark of old DOS programs
    control = _CONTROL.search(text)
    if control is not None:
        offset = control.start()
        raise ValidationError(
            f"{path}:{text.count(chr(10), 0, offset) + 1}: byte 0x{ord(control.group()):02X} "
            "is a control character: this is not a text file, or not in an encoding known "
            "without being told; give its encoding, or save it as UTF-8",
            option="encoding",
        )
    return Decoded(text, "cp1252", "read as cp1252 (Windows Western): the file is not UTF-8")


def _decode_given(data: bytes, path: str, codec: str, bom: tuple[bytes, str] | None) -> Decoded:
    if bom is not None:
        mark, marked = bom
        if not _fits_mark(codec, marked):
            raise ConfigurationError(
                f"{path}: starts with the byte-order mark of {label(marked)}, not "
                f"{label(codec)}; leave the encoding out, or give {marked}",
                field="encoding",
            )
        text = _strict(data[len(mark) :], marked, path, offset=len(mark), whole=data)
    else:
        text = _strict(data, codec, path, offset=0, whole=data)
    text = text.removeprefix("\ufeff")
    base = codec.removesuffix("-sig")
    note = None if base == "utf-8" else f"read as {label(base)}, as given"
    return Decoded(text, base, note)


def _strict(data: bytes, codec: str, path: str, *, offset: int, whole: bytes) -> str:
    try:
        return data.decode(codec)
    except UnicodeError as exc:
        if not isinstance(exc, UnicodeDecodeError):
            raise ConfigurationError(
                f"{path}: cannot be read as {label(codec)} ({exc})", field="encoding"
            ) from None
        at = offset + exc.start
        byte = whole[at : at + 1].hex().upper()
        raise ValidationError(
            f"{path}:{_line_of(whole, at, codec)}: byte 0x{byte} cannot be read as "
            f"{label(codec)} ({exc.reason}); give the file's real encoding, or save it as UTF-8",
            option="encoding",
        ) from None
