"""The small Markdown dialect letters are written in.

Blocks are separated by blank lines; inside a block every line break is kept
(addresses, signatures). ``# Heading`` lines, ``**bold**`` and ``*italic*``
are recognised; everything else is text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
        if not lines:
            continue
        if len(lines) == 1 and lines[0].startswith("#"):
            out.append(Block("h", [spans(lines[0].lstrip("#").strip())]))
        else:
            out.append(Block("p", [spans(line) for line in lines]))
    return out


def to_text(text: str) -> str:
    """Plain text: the Markdown with its emphasis markers removed."""
    paras = []
    for block in blocks(text):
        paras.append("\n".join("".join(s.text for s in line) for line in block.lines))
    return "\n\n".join(paras) + "\n"
