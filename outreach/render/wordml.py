"""Word's XML (WordprocessingML) as the DOCX writers build it: ``w:``
elements, and each property in the place the schema gives it (Word refuses
a document whose properties are out of order)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

# The order of the children of each properties element (ECMA-376, part 1).
_PPR = (
    "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr "
    "suppressLineNumbers pBdr shd tabs suppressAutoHyphens kinsoku wordWrap overflowPunct "
    "topLinePunct autoSpaceDE autoSpaceDN bidi adjustRightInd snapToGrid spacing ind "
    "contextualSpacing mirrorIndents suppressOverlap jc textDirection textAlignment "
    "textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange"
)
_RPR = (
    "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint "
    "noProof snapToGrid vanish webHidden color spacing w kern position sz szCs highlight u "
    "effect bdr shd fitText vertAlign rtl cs em lang eastAsianLayout specVanish oMath"
)
_TBLPR = (
    "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc "
    "tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook tblCaption "
    "tblDescription tblPrChange"
)
_TRPR = (
    "cnfStyle divId gridBefore gridAfter wBefore wAfter cantSplit trHeight tblHeader "
    "tblCellSpacing jc hidden ins del trPrChange"
)
_TCPR = (
    "cnfStyle tcW gridSpan hMerge vMerge tcBorders shd noWrap tcMar textDirection tcFitText "
    "vAlign hideMark headers cellIns cellDel cellMerge tcPrChange"
)
_SECTPR = (
    "headerReference footerReference footnotePr endnotePr type pgSz pgMar paperSrc "
    "pgBorders lnNumType pgNumType cols formProt vAlign noEndnote titlePg textDirection "
    "bidi rtlGutter docGrid printerSettings sectPrChange"
)
_SETTINGS = (
    "writeProtection view zoom removePersonalInformation removeDateAndTime "
    "doNotDisplayPageBoundaries displayBackgroundShape printPostScriptOverText "
    "printFractionalCharacterWidth printFormsData embedTrueTypeFonts embedSystemFonts "
    "saveSubsetFonts saveFormsData mirrorMargins alignBordersAndEdges "
    "bordersDoNotSurroundHeader bordersDoNotSurroundFooter gutterAtTop hideSpellingErrors "
    "hideGrammaticalErrors activeWritingStyle proofState formsDesign attachedTemplate "
    "linkStyles stylePaneFormatFilter stylePaneSortMethod documentType mailMerge "
    "revisionView trackRevisions doNotTrackMoves doNotTrackFormatting documentProtection "
    "autoFormatOverride styleLockTheme styleLockQFSet defaultTabStop autoHyphenation "
    "consecutiveHyphenLimit hyphenationZone doNotHyphenateCaps"
)


def w(tag: str) -> str:
    """The ``w:`` *tag* in Clark notation (``{namespace}tag``)."""
    return f"{{{W_NS}}}{tag}"


def _order(names: str) -> dict[str, int]:
    return {w(name): i for i, name in enumerate(names.split())}


PPR, RPR, TBLPR, TRPR, TCPR, SECTPR, SETTINGS = map(
    _order, (_PPR, _RPR, _TBLPR, _TRPR, _TCPR, _SECTPR, _SETTINGS)
)


def el(tag: str, **attrs: str) -> Any:
    """A ``w:`` element with ``w:`` attributes (``el("jc", val="both")``)."""
    from docx.oxml import OxmlElement

    return OxmlElement(f"w:{tag}", {w(k): v for k, v in attrs.items()})


def put(parent: Any, child: Any, order: dict[str, int]) -> Any:
    """*child* in *parent* where the schema's *order* puts it, in place of
    one of its kind."""
    for old in parent.findall(child.tag):
        parent.remove(old)
    rank = order.get(child.tag, len(order))
    for existing in parent:
        if order.get(existing.tag, -1) > rank:
            existing.addprevious(child)
            return child
    parent.append(child)
    return child


def ppr_of(p: Any) -> Any:
    """The properties of the paragraph *p*, made if it has none."""
    ppr = p.find(w("pPr"))
    if ppr is None:
        ppr = el("pPr")
        p.insert(0, ppr)
    return ppr


def set_ppr(p: Any, **props: Any) -> None:
    """Set properties of the paragraph *p*: ``style``, ``keep_next``,
    ``keep_lines``, ``bidi``, ``no_hyphens``, ``border`` (a rule below: size in eighths of a
    point, space in points, colour), ``before``/``after`` (twips), ``line``
    (240ths of a line, or twips with ``line_rule="exact"``) and ``jc``."""
    ppr = ppr_of(p)
    if props.get("style"):
        put(ppr, el("pStyle", val=props["style"]), PPR)
    for key, tag in (("keep_next", "keepNext"), ("keep_lines", "keepLines"), ("bidi", "bidi")):
        if props.get(key):
            put(ppr, el(tag), PPR)
    if props.get("no_hyphens"):
        put(ppr, el("suppressAutoHyphens"), PPR)
    if props.get("border"):
        size, space, color = props["border"]
        border = el("pBdr")
        border.append(el("bottom", val="single", sz=str(size), space=str(space), color=color))
        put(ppr, border, PPR)
    spacing = {k: str(props[k]) for k in ("before", "after") if props.get(k) is not None}
    if props.get("line") is not None:
        spacing.update(line=str(props["line"]), lineRule=props.get("line_rule", "auto"))
    if spacing:
        old = ppr.find(w("spacing"))
        if old is not None:  # keep what is not set again
            kept = {k.split("}")[1]: v for k, v in old.attrib.items()}
            spacing = {**kept, **spacing}
        put(ppr, el("spacing", **spacing), PPR)
    if props.get("jc"):
        put(ppr, el("jc", val=props["jc"]), PPR)


# -- text ----------------------------------------------------------------------------

LATIN, ARABIC, CHINESE = "Noto Sans", "Noto Naskh Arabic", "Noto Sans CJK SC"
BODY_SIZE = 21  # 10.5 pt, in half points
LRM, RLM = "\u200e", "\u200f"

_RTL_SCRIPT = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc"
#: Characters of the right-to-left scripts (Hebrew, Arabic, Syriac, Thaana,
#: N'Ko... and their presentation forms).
_RTL_CHAR = re.compile(f"[{_RTL_SCRIPT}]")
#: A stretch of right-to-left script in left-to-right text, with the spaces
#: and punctuation between its words.
_RTL_STRETCH = re.compile(f"[{_RTL_SCRIPT}](?:[^\\w]*[{_RTL_SCRIPT}])*")
#: A stretch of left-to-right text inside right-to-left text: from a
#: left-to-right letter to the last left-to-right letter or digit before the
#: next right-to-left letter ("Regional Organization", "A/66/874-S/2012/578").
_LTR_STRETCH = re.compile(f"[^\\W\\d_{_RTL_SCRIPT}](?:[^{_RTL_SCRIPT}]*[^\\W_{_RTL_SCRIPT}])?")
#: What a printed letter leaves out: the bidi embeddings and overrides, which
#: would show a name's letters in another order than they are stored ("evil"
#: as "live"). Isolates and marks stay.
_OVERRIDES = re.compile("[\u202a-\u202e]")


def direction_pieces(text: str, rtl: bool) -> list[tuple[str, bool]]:
    """*text* cut where its direction changes: (piece, right to left). In a
    right-to-left line every piece is right to left but the stretches of
    left-to-right words (a Latin name, a document symbol), as Word writes
    text typed in both directions; in a left-to-right line, the stretches of
    right-to-left script are right to left."""
    if not text:
        return []
    if not rtl and not _RTL_CHAR.search(text):
        return [(text, False)]
    out, pos = [], 0
    for m in (_LTR_STRETCH if rtl else _RTL_STRETCH).finditer(text):
        if m.start() > pos:
            out.append((text[pos : m.start()], rtl))
        out.append((m.group(), not rtl))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], rtl))
    return out


class Runs:
    """Writes text into paragraphs as runs: bold and italic from the
    letter's Markdown, the direction, fonts and language of each piece, and
    every size for complex scripts too."""

    def __init__(self, language: str) -> None:
        from outreach.templating import is_rtl

        self.language = (language or "en").split("-")[0].lower()
        self.rtl = is_rtl(language)
        self.chinese = self.language == "zh"

    def rpr(
        self,
        *,
        bold: bool = False,
        italic: bool = False,
        size: int | None = None,
        color: str | None = None,
        rtl: bool = False,
        base: Any = None,
    ) -> Any:
        """Run properties: a copy of *base* (a template's) with these."""
        import copy

        rpr = copy.deepcopy(base) if base is not None else el("rPr")
        if rtl or self.chinese:
            fonts = rpr.find(w("rFonts"))
            if fonts is None:
                fonts = put(rpr, el("rFonts"), RPR)
            if rtl:
                fonts.set(w("cs"), ARABIC)
            else:
                fonts.set(w("eastAsia"), CHINESE)
                fonts.set(w("hint"), "eastAsia")
        if bold:
            put(rpr, el("b"), RPR)
            put(rpr, el("bCs"), RPR)
        if italic:
            put(rpr, el("i"), RPR)
            put(rpr, el("iCs"), RPR)
        if color:
            put(rpr, el("color", val=color), RPR)
        if size is None and base is not None:
            found = base.find(w("sz"))
            if found is not None and base.find(w("szCs")) is None:
                size = int(found.get(w("val")) or BODY_SIZE)
        if size is not None:
            put(rpr, el("sz", val=str(size)), RPR)
            put(rpr, el("szCs", val=str(size)), RPR)
        if rtl:
            put(rpr, el("rtl"), RPR)
            put(rpr, el("lang", bidi=self.language), RPR)
        elif self.chinese:
            put(rpr, el("lang", eastAsia="zh-CN"), RPR)
        return rpr

    def add(
        self,
        p: Any,
        text: str,
        *,
        rtl: bool | None = None,
        **props: Any,
    ) -> None:
        """*text* at the end of the paragraph *p*, one run per direction
        (*rtl*: the line's direction, the letter's unless told)."""
        from outreach.safetext import for_xml

        text = _OVERRIDES.sub("", for_xml(text))
        for piece, piece_rtl in direction_pieces(text, self.rtl if rtl is None else rtl):
            run = el("r")
            rpr = self.rpr(rtl=piece_rtl, **props)
            if len(rpr):
                run.append(rpr)
            for n, chunk in enumerate(piece.split("\t")):
                if n:
                    run.append(el("tab"))
                if chunk:
                    t = el("t")
                    t.text = chunk
                    if chunk != chunk.strip():
                        t.set(XML_SPACE, "preserve")
                    run.append(t)
            p.append(run)

    @staticmethod
    def line_break(p: Any) -> None:
        run = el("r")
        run.append(el("br"))
        p.append(run)

    def own_direction(self, p: Any, text: str, **props: Any) -> bool:
        """The direction of a piece of text that stands alone (a name, an
        address line): its own where it runs against the letter's, opened
        with a mark ("708 Third Avenue" in an Arabic letter would otherwise
        read "Third Avenue 708"), as the PDF isolates it. True: right to left."""
        from outreach.render.layout import needs_isolate

        if not needs_isolate(text, self.rtl):
            return self.rtl
        self.add(p, LRM if self.rtl else RLM, rtl=not self.rtl, **props)
        return not self.rtl

    def pieces(self, p: Any, pieces: Sequence[str], separator: str = " · ", **props: Any) -> None:
        """Pieces of one line (a footer's, a running header's), each in its
        own direction, *separator* between them: in the letter's direction
        (marked, when a piece runs the other way), so the pieces follow one
        another as the letter reads: from the right in an Arabic letter."""
        from outreach.render.layout import needs_isolate

        if any(needs_isolate(piece, self.rtl) for piece in pieces):
            mark = RLM if self.rtl else LRM
            separator = mark + separator + mark
        for n, piece in enumerate(pieces):
            if n:
                self.add(p, separator, **props)
            self.add(p, piece, rtl=self.own_direction(p, piece, **props), **props)

    def lines(
        self,
        p: Any,
        lines: Iterable[Sequence[Any]],
        *,
        stand_alone: bool = False,
        bold: bool = False,
        **props: Any,
    ) -> None:
        """The lines of a block (lists of spans), a line break between them;
        lines that *stand alone* (names, addresses) in their own direction
        (:meth:`own_direction`)."""
        for n, line in enumerate(lines):
            if n:
                self.line_break(p)
            rtl = self.rtl
            if stand_alone:
                rtl = self.own_direction(p, "".join(s.text for s in line), **props)
            for span in line:
                self.add(p, span.text, rtl=rtl, bold=span.bold or bold, italic=span.italic,
                         **props)  # fmt: skip
