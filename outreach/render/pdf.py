"""Letters as PDF through ReportLab, with the Noto fonts shipped in
``outreach/fonts`` embedded (subset), so accents and Arabic come out right on
any machine without system fonts.

Arabic (and any right-to-left text) is shaped into its joined letter forms by
``arabic-reshaper`` and put in visual order by ``python-bidi``; lines of a
right-to-left letter are set flush right. Each character is drawn in the
letter's main font when that font has it, else in the other shipped font
(Latin acronyms and addresses inside an Arabic letter, an Arabic name inside
an English one).

Measured on the development machine, ReportLab writes a one-page letter in a
few milliseconds; fpdf2 (with HarfBuzz shaping) took about 100 ms, mostly in
per-document font parsing and subsetting, so it was not used.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach.errors import ValidationError
from outreach.render.markdown import Span, blocks
from outreach.templating import is_rtl

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc

FONTS_DIR = Path(__file__).resolve().parent.parent / "fonts"
#: (family, style) -> (registered name, file)
_FONTS = {
    ("latin", ""): ("OutreachSans", "NotoSans-Regular.ttf"),
    ("latin", "B"): ("OutreachSans-Bold", "NotoSans-Bold.ttf"),
    ("latin", "I"): ("OutreachSans-Italic", "NotoSans-Italic.ttf"),
    ("arabic", ""): ("OutreachNaskh", "NotoNaskhArabic-Regular.ttf"),
    ("arabic", "B"): ("OutreachNaskh-Bold", "NotoNaskhArabic-Bold.ttf"),
    ("arabic", "I"): ("OutreachNaskh", "NotoNaskhArabic-Regular.ttf"),
}

MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 22 * MM, 20 * MM, 20 * MM
SIZE = 10.5
LEADING = 15.0
PARA_GAP = 6.0

_state: dict[str, Any] = {}
_WIDTHS: dict[tuple[str, str, str, float], float] = {}


def _setup() -> dict[str, Any]:
    """Register the fonts once per process and remember which characters each has."""
    if _state:
        return _state
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    rl_config.useA85 = 0  # binary streams: smaller and faster than ASCII85
    font_class = _cached_font_class(TTFont)
    charsets: dict[str, frozenset[str]] = {}
    for name, filename in _FONTS.values():
        if name in charsets:
            continue
        font = font_class(name, str(FONTS_DIR / filename))
        pdfmetrics.registerFont(font)
        charsets[name] = frozenset(map(chr, font.face.charToGlyph))
    _state["charsets"] = charsets
    _state["width"] = pdfmetrics.stringWidth
    return _state


#: Font subsets kept per font: at most this many (each a few tens of KiB).
_SUBSETS_KEPT = 256


def _cached_font_class(base: type) -> type:
    """ReportLab's TTFont, keeping each font subset it embeds for the next document.

    A subset (the glyphs, their widths and the ToUnicode map, compressed) is
    fixed by the characters it holds in their order of first use, and letters
    from one template use the same characters in the same order: building
    and compressing the subset again for every one-letter PDF was most of
    the time spent per file. This is ReportLab's ``TTFont.addObjects`` with
    that memory; the objects written are the same.
    """
    import zlib

    from reportlab.pdfbase import pdfdoc
    from reportlab.pdfbase.ttfonts import (
        FF_NONSYMBOLIC,
        FF_SYMBOLIC,
        SUBSETN,
        makeToUnicodeCMap,
    )

    def flate(data: bytes) -> Any:
        stream = pdfdoc.PDFStream()
        stream.content = data  # already compressed
        stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        return stream

    class Preformatted(pdfdoc.PDFObject):  # type: ignore[misc]
        """A PDF dictionary written once: fixed bytes around this document's
        object references (ReportLab formats every key and value again for
        every document otherwise)."""

        __RefOnly__ = 1  # an indirect object, as ReportLab's own font objects

        def __init__(self, *parts: Any) -> None:
            self.parts = parts

        def format(self, document: Any) -> bytes:
            return b"".join(
                part if isinstance(part, bytes) else part.format(document) for part in self.parts
            )

    def name(text: str) -> bytes:
        return pdfdoc.PDFName(text).encode("latin-1")

    class CachedTTFont(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._subsets: dict[tuple[int, tuple[int, ...]], tuple[Any, ...]] = {}

        def _subset_parts(self, doc: Any, n: int, subset: list[int]) -> tuple[Any, ...]:
            key = (n, tuple(subset))
            parts = self._subsets.get(key)
            if parts is None:
                face = self.face
                base_name = b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX)).decode(
                    "pdfdoc"
                )
                widths = pdfdoc.PDFArray([face.getCharWidth(code) for code in subset])
                cmap = makeToUnicodeCMap(base_name, subset).encode("utf8")
                glyphs = face.makeSubset(subset)
                descriptor = {
                    "Type": "/FontDescriptor",
                    "Ascent": face.ascent,
                    "CapHeight": face.capHeight,
                    "Descent": face.descent,
                    "Flags": (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                    "FontBBox": pdfdoc.PDFArray(face.bbox),
                    "FontName": pdfdoc.PDFName(base_name),
                    "ItalicAngle": face.italicAngle,
                    "StemV": face.stemV,
                    "MissingWidth": face.defaultWidth,
                }
                fixed = b"".join(
                    name(key) + b" " + pdfdoc.format(value, doc) + b"\n"
                    for key, value in descriptor.items()
                )
                font_head = (
                    b"/Type /Font\n/Subtype /TrueType\n/BaseFont "
                    + name(base_name)
                    + b"\n/FirstChar 0\n/LastChar "
                    + pdfdoc.format(len(subset) - 1, doc)
                    + b"\n/Widths "
                    + widths.format(doc)
                    + b"\n"
                )
                parts = (
                    base_name,
                    font_head,
                    b"<<\n" + fixed + b"/FontFile2 ",
                    zlib.compress(cmap),
                    zlib.compress(glyphs),
                    len(glyphs),
                )
                if len(self._subsets) >= _SUBSETS_KEPT:
                    self._subsets.clear()
                self._subsets[key] = parts
            return parts

        def addObjects(self, doc: Any) -> None:
            if not doc.compression:
                super().addObjects(doc)
                return
            try:
                state = self.state[doc]
            except KeyError:
                state = self.state[doc] = base.State(self._asciiReadable)
            state.frozen = 1
            face = self.face
            for n, subset in enumerate(state.subsets):
                internal_name = self.getSubsetInternalName(n, doc)[1:]
                base_name, font_head, descriptor_head, cmap, glyphs, length1 = self._subset_parts(
                    doc, n, subset
                )
                to_unicode = doc.Reference(flate(cmap), "toUnicodeCMap:" + base_name)
                font_file = flate(glyphs)
                font_file.dictionary["Length1"] = length1
                file_ref = doc.Reference(font_file, f"fontFile:{face.filename}({base_name})")
                descriptor = doc.Reference(
                    Preformatted(descriptor_head, file_ref, b"\n>>"),
                    "fontDescriptor:" + base_name,
                )
                pdf_font = Preformatted(
                    b"<<\n",
                    font_head,
                    b"/Name " + name(internal_name) + b"\n/ToUnicode ",
                    to_unicode,
                    b"\n/FontDescriptor ",
                    descriptor,
                    b"\n>>",
                )
                doc.Reference(pdf_font, internal_name)
                doc.idToObject["BasicFonts"].dict[internal_name] = pdf_font
            del self.state[doc]

    return CachedTTFont


#: Hebrew, Arabic, Syriac, Thaana, NKo, ... and the Hebrew/Arabic presentation forms.
_RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def _has_rtl(text: str) -> bool:
    return _RTL_RE.search(text) is not None


#: Shaped and reordered text: the same paragraphs and lines recur in every
#: letter of a template, and both steps are slow pure Python.
_SHAPED: dict[str, str] = {}
_VISUAL: dict[tuple[str, bool], str] = {}
#: Paragraphs already wrapped into lines (see _write_letter).
_WRAPPED: dict[tuple[Any, ...], list[list[tuple[str, str]]]] = {}
_TEXTS_KEPT = 20_000


def _reshape(text: str) -> str:
    """Arabic letters in their joined (contextual) forms, still in logical order."""
    found = _SHAPED.get(text)
    if found is not None:
        return found
    reshaper = _state.get("reshaper")
    if reshaper is None:
        import arabic_reshaper

        reshaper = _state["reshaper"] = arabic_reshaper.ArabicReshaper()
    found = reshaper.reshape(text)
    if len(_SHAPED) >= _TEXTS_KEPT:
        _SHAPED.clear()
    _SHAPED[text] = found
    return found


def _visual(text: str, base_rtl: bool) -> str:
    """*text* (already reshaped) in visual, left-to-right drawing order."""
    key = (text, base_rtl)
    found = _VISUAL.get(key)
    if found is not None:
        return found
    # python-bidi's pure-Python algorithm: unlike its newer Rust binding
    # (0.5+), it mirrors brackets, so "(A/66/874)" stays enclosed.
    from bidi.algorithm import get_display

    found = get_display(text, base_dir="R" if base_rtl else "L")
    if len(_VISUAL) >= _TEXTS_KEPT:
        _VISUAL.clear()
    _VISUAL[key] = found
    return found


class _Fonts:
    """Font choice for one letter: main family first, the other as fallback."""

    def __init__(self, rtl: bool) -> None:
        state = _setup()
        self.charsets = state["charsets"]
        self.width = state["width"]
        self.main = "arabic" if rtl else "latin"
        self.other = "latin" if rtl else "arabic"

    def runs(self, text: str, style: str) -> list[tuple[str, str]]:
        """Split *text* into (run, font name) pieces by which font has each character."""
        main = _FONTS[(self.main, style)][0]
        other = _FONTS[(self.other, style)][0]
        main_set = self.charsets[main]
        if main_set.issuperset(text):
            return [(text, main)]
        other_set = self.charsets[other]
        out: list[tuple[str, str]] = []
        current, font = "", main
        for ch in text:
            has_main, has_other = ch in main_set, ch in other_set
            if unicodedata.category(ch)[0] in "LM":
                # a letter or mark: the font that has it, preferring the main one
                want = main if has_main or not has_other else other
            else:
                # spaces, digits, punctuation stay with the current run if they can
                current_set = main_set if font == main else other_set
                fallback = main if has_main or not has_other else other
                want = font if ch in current_set else fallback
            if want != font and current:
                out.append((current, font))
                current = ""
            font = want
            current += ch
        if current:
            out.append((current, font))
        return out

    def measure(self, text: str, style: str, size: float) -> float:
        """Width of *text*; words repeat from letter to letter, so widths are cached."""
        key = (self.main, text, style, size)
        found = _WIDTHS.get(key)
        if found is None:
            if len(_WIDTHS) > 200_000:
                _WIDTHS.clear()
            found = _WIDTHS[key] = sum(
                self.width(run, font, size) for run, font in self.runs(text, style)
            )
        return found


def _style(span: Span, heading: bool) -> str:
    if span.bold or heading:
        return "B"
    return "I" if span.italic else ""


class _Writer:
    """Draws a letter's lines; all the text of a page goes in one text object
    (one BT ... ET with a font change only where the font changes)."""

    def __init__(self, canvas: Any) -> None:
        self.c = canvas
        self.y = PAGE_H - MARGIN_TOP
        self.text: Any = None
        self.font: tuple[str, float] | None = None

    def finish_page(self) -> None:
        if self.text is not None:
            self.c.drawText(self.text)
            self.text = None
            self.font = None

    def new_page(self) -> None:
        self.finish_page()
        self.c.showPage()
        self.y = PAGE_H - MARGIN_TOP

    def line_feed(self, amount: float) -> None:
        self.y -= amount
        if self.y < MARGIN_BOTTOM:
            self.new_page()

    def draw(self, pieces: list[tuple[str, str]], fonts: _Fonts, size: float, rtl: bool) -> None:
        """Draw (text, style) pieces on one line; right-aligned when *rtl*."""
        if self.y - size < MARGIN_BOTTOM:
            self.new_page()
        baseline = self.y - size
        runs: list[tuple[str, str]] = []
        for text, style in pieces:
            if _has_rtl(text):
                text = _visual(text, rtl)
            # a line with no right-to-left letters (an address, an e-mail, a
            # signature) keeps its own order, set flush right in an RTL letter
            runs.extend(fonts.runs(text, style))
        widths = [fonts.width(run, font, size) for run, font in runs]
        x = PAGE_W - MARGIN_X - sum(widths) if rtl else MARGIN_X
        text = self.text
        if text is None:
            text = self.text = self.c.beginText()
        for (run, font), w in zip(runs, widths, strict=True):
            if self.font != (font, size):
                text.setFont(font, size)
                self.font = (font, size)
            text.setTextOrigin(x, baseline)
            text.textLine(run)  # the next run sets its own origin
            x += w
        self.y -= LEADING if size <= SIZE + 0.1 else size * 1.45


def _wrap(
    spans: list[Span], fonts: _Fonts, size: float, width: float, heading: bool
) -> list[list[tuple[str, str]]]:
    """Greedy word wrap of styled spans into lines of (text, style) pieces."""
    words: list[tuple[str, str]] = []
    for span in spans:
        style = _style(span, heading)
        text = span.text
        if _has_rtl(text):
            text = _reshape(text)  # once per span; spaces are kept, so words still split
        parts = text.split(" ")
        for i, part in enumerate(parts):
            if i > 0:
                words.append((" ", style))
            if part:
                words.append((part, style))
    lines: list[list[tuple[str, str]]] = []
    line: list[tuple[str, str]] = []
    used = 0.0
    for text, style in words:
        w = fonts.measure(text, style, size)
        if text == " ":
            if line:
                line.append((text, style))
                used += w
            continue
        if line and used + w > width:
            while line and line[-1][0] == " ":
                line.pop()
            lines.append(line)
            line, used = [], 0.0
        line.append((text, style))
        used += w
    while line and line[-1][0] == " ":
        line.pop()
    if line:
        lines.append(line)
    # merge neighbours of the same style so each line draws in few runs
    merged = []
    for ln in lines:
        out: list[tuple[str, str]] = []
        for text, style in ln:
            if out and out[-1][1] == style:
                out[-1] = (out[-1][0] + text, style)
            else:
                out.append((text, style))
        merged.append(out)
    return merged


def _write_letter(writer: _Writer, doc: LetterDoc) -> None:
    rtl = is_rtl(doc.language)
    fonts = _Fonts(rtl)
    width = PAGE_W - 2 * MARGIN_X
    for block in blocks(doc.body):
        heading = block.kind == "h"
        size = 13.0 if heading else SIZE
        for spans in block.lines:
            # most paragraphs recur word for word in every letter of a template
            key = (fonts.main, size, heading, tuple(spans))
            lines = _WRAPPED.get(key)
            if lines is None:
                lines = _wrap(spans, fonts, size, width, heading)
                if len(_WRAPPED) >= _TEXTS_KEPT:
                    _WRAPPED.clear()
                _WRAPPED[key] = lines
            for pieces in lines:
                if rtl:
                    # one direction-aware string per line keeps the word order right
                    bold = all(style == "B" for _t, style in pieces)
                    text = "".join(t for t, _s in pieces)
                    pieces = [(text, "B" if bold else "")]
                writer.draw(pieces, fonts, size, rtl)
        writer.line_feed(PARA_GAP)


def _check_coverage(doc: LetterDoc) -> None:
    """Refuse a letter whose letters the embedded fonts cannot draw (Chinese,
    say): a PDF with blank gaps where the text should be must never go out."""
    charsets = _setup()["charsets"]
    covered = frozenset().union(*charsets.values())
    missing = sorted(
        {
            ch
            for ch in set(doc.subject) | set(doc.body)
            if ch not in covered and unicodedata.category(ch)[0] in "LM"
        }
    )
    if missing:
        sample = "".join(missing[:8])
        raise ValidationError(
            f"{doc.acronym}: the PDF fonts cannot draw the letter's {doc.language} text "
            f"({sample}{'…' if len(missing) > 8 else ''}): write it as HTML or DOCX for now",
            field="format",
        )


def to_pdf(docs: Sequence[LetterDoc]) -> bytes:
    """One PDF holding *docs*, each letter starting on a new page."""
    _setup()
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=(PAGE_W, PAGE_H), pageCompression=1, invariant=0)
    canvas.setCreator("outreach")
    if len(docs) == 1:
        canvas.setTitle(docs[0].subject)
        canvas.setSubject(docs[0].campaign)
    author = (docs[0].sender or {}).get("organization") if docs else None
    if author:
        canvas.setAuthor(str(author))
    for doc in docs:
        _check_coverage(doc)
        writer = _Writer(canvas)
        _write_letter(writer, doc)
        writer.finish_page()
        canvas.showPage()
    canvas.save()
    return buf.getvalue()
