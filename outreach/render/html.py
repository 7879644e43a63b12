"""Letters as standalone HTML documents (right to left for Arabic)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from outreach.render.markdown import Span, blocks
from outreach.templating import is_rtl

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc

_STYLE = (
    "body{font-family:'Noto Sans','Noto Naskh Arabic',sans-serif;max-width:42em;"
    "margin:2em auto;line-height:1.5}p{margin:0 0 1em}"
)


def _span(span: Span) -> str:
    text = escape(span.text)
    if span.bold:
        return f"<strong>{text}</strong>"
    if span.italic:
        return f"<em>{text}</em>"
    return text


def body_html(markdown: str) -> str:
    parts = []
    for block in blocks(markdown):
        inner = "<br>\n".join("".join(_span(s) for s in line) for line in block.lines)
        tag = "h1" if block.kind == "h" else "p"
        parts.append(f"<{tag}>{inner}</{tag}>")
    return "\n".join(parts)


def to_html(doc: LetterDoc) -> str:
    lang = escape(doc.language, quote=True)
    direction = "rtl" if is_rtl(doc.language) else "ltr"
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}" dir="{direction}">\n<head>\n'
        f'<meta charset="utf-8">\n<title>{escape(doc.subject)}</title>\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n{body_html(doc.body)}\n</body>\n</html>\n"
    )
