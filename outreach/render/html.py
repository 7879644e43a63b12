"""Letters as standalone HTML documents (right to left for Arabic)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from outreach.render.markdown import Span, blocks
from outreach.templating import is_rtl

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc

_STYLE = (
    "body{font-family:'Noto Sans','Noto Naskh Arabic','Noto Sans CJK SC',sans-serif;"
    "max-width:42em;margin:2em auto;padding:0 1em;line-height:1.5}p{margin:0 0 1em}"
    "p.text{text-align:justify;hyphens:auto}"
    ".letterhead{border-bottom:1px solid #888;padding-bottom:.5em;margin-bottom:1.5em;"
    "font-size:.85em;color:#444}.letterhead strong{font-size:1.3em;color:#000}"
    ".date,.reference{text-align:end;margin:0}.addressee{margin:1.5em 0}"
    ".signature{margin-top:3em}.cc,.enclosures{font-size:.85em;margin:0 0 .3em}"
)


def _span(span: Span) -> str:
    text = escape(span.text)
    if span.bold:
        return f"<strong>{text}</strong>"
    if span.italic:
        return f"<em>{text}</em>"
    return text


def body_html(markdown: str, rtl: bool = False) -> str:
    """The letter's blocks as HTML paragraphs, each with its part as its class
    (``<p class="addressee">``; running text ``class="text"``)."""
    from outreach.render.layout import LINE_PARTS, needs_isolate, roles

    parts = blocks(markdown)
    out = []
    for block, role in zip(parts, roles(parts), strict=True):
        lines = []
        for line in block.lines:
            html = "".join(_span(s) for s in line)
            if role in LINE_PARTS and needs_isolate("".join(s.text for s in line), rtl):
                html = f"<bdi>{html}</bdi>"  # the line keeps its own direction
            lines.append(html)
        inner = "<br>\n".join(lines)
        tag = "h1" if block.kind == "h" else "p"
        out.append(f'<{tag} class="{role}">{inner}</{tag}>')
    return "\n".join(out)


def to_html(doc: LetterDoc) -> str:
    lang = escape(doc.language, quote=True)
    rtl = is_rtl(doc.language)
    direction = "rtl" if rtl else "ltr"
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}" dir="{direction}">\n<head>\n'
        f'<meta charset="utf-8">\n<title>{escape(doc.subject)}</title>\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n{body_html(doc.body, rtl)}\n</body>\n</html>\n"
    )
