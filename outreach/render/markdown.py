"""The small Markdown dialect letters are written in.

Blocks are separated by blank lines; inside a block every line break is kept
(addresses, signatures). ``# Heading`` lines, ``**bold**`` and ``*italic*``
are recognised; everything else is text.

A block may say what part of the letter it is with a first line ``::: name``
(and, optionally, a last line ``:::``), as Pandoc writes a fenced div::

    ::: addressee
    Chairperson of the African Union Commission
    African Union
    :::

The letterheads in ``letters/`` mark their parts so (:data:`ROLES`); the PDF
and DOCX layouts place each part where a letter has it. The marker lines are
not text: plain text, HTML and the layouts leave them out. A block without
a marker is running text (its part is guessed from its place, for letters
written before the markers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: The parts of a letter a block can be marked as.
ROLES = frozenset(
    {
        "letterhead",
        "date",
        "reference",
        "addressee",
        "subject",
        "salutation",
        "closing",
        "signature",
        "cc",
        "enclosures",
        "postscript",
    }
)
_MARKER = re.compile(r"^:::\s*(?P<role>[a-z][a-z0-9-]{0,30})?\s*$")

_INLINE = re.compile(r"(\*\*(?P<bold>.+?)\*\*|(?<![\w*])\*(?P<italic>[^*\s][^*]*?)\*(?![\w*]))")


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True)
class Block:
    kind: str  # "p" or "h"
    lines: list[list[Span]]
    #: The part of the letter its ``::: name`` marker says it is (one of
    #: :data:`ROLES`), or None.
    role: str | None = None


def spans(line: str) -> list[Span]:
    out: list[Span] = []
    pos = 0
    for m in _INLINE.finditer(line):
        if m.start() > pos:
            out.append(Span(line[pos : m.start()]))
        if m.group("bold") is not None:
            out.append(Span(m.group("bold"), bold=True))
        else:
            out.append(Span(m.group("italic"), italic=True))
        pos = m.end()
    if pos < len(line):
        out.append(Span(line[pos:]))
    return out


def blocks(text: str) -> list[Block]:
    out = []
    for chunk in re.split(r"\n\s*\n", text.strip("\n")):
        lines = [line.rstrip() for line in chunk.split("\n")]
        lines = [line for line in lines if line.strip()]
        role = None
        if lines and (marker := _MARKER.match(lines[0])) and marker.group("role"):
            role = marker.group("role") if marker.group("role") in ROLES else None
            lines = lines[1:]
        # a closing fence (and a stray one) is not text
        lines = [line for line in lines if not _is_fence(line)]
        if not lines:
            continue
        if len(lines) == 1 and lines[0].startswith("#") and role is None:
            out.append(Block("h", [spans(lines[0].lstrip("#").strip())]))
        else:
            out.append(Block("p", [spans(line) for line in lines], role))
    return out


def without_markers(text: str, drop: Iterable[str] = ()) -> str:
    """*text* with the part markers' lines taken out and nothing else changed
    (emphasis, spacing and line breaks stay as typed); the lines of the parts
    named in *drop* (``reference``) go too."""
    if ":::" not in text:
        return text
    dropped = frozenset(drop)
    out: list[str] = []
    at_start, skipping = True, False
    for line in text.split("\n"):
        if not line.strip():
            at_start, skipping = True, False
            out.append(line)
            continue
        if ":::" in line and (marker := _MARKER.match(line)):
            if at_start and marker.group("role") in dropped:
                skipping = True
            at_start = False
            continue
        at_start = False
        if not skipping:
            out.append(line)
    return "\n".join(out)


def _is_fence(line: str) -> bool:
    found = _MARKER.match(line)
    return found is not None and found.group("role") is None


def to_text(text: str) -> str:
    """Plain text: the Markdown with its emphasis markers removed."""
    paras = []
    for block in blocks(text):
        paras.append("\n".join("".join(s.text for s in line) for line in block.lines))
    return "\n\n".join(paras) + "\n"
