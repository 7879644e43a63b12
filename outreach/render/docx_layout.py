"""The parts of a letter placed on Word's pages, as the PDF layout places
them (see :mod:`outreach.render.docx` for the rules and the measures)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from outreach.render.docx import (
    FOOTER_DISTANCE,
    GREY,
    HEADER_DISTANCE,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    PAPER_TWIPS,
    ROLE_STYLES,
    RULE,
    WINDOW_TWIPS,
    image_usable,
)
from outreach.render.layout import LINE_PARTS
from outreach.render.markdown import Block
from outreach.render.wordml import (
    PPR,
    RPR,
    SECTPR,
    TBLPR,
    TCPR,
    TRPR,
    XML_SPACE,
    Runs,
    el,
    ppr_of,
    put,
    set_ppr,
    w,
)
from outreach.safetext import for_xml

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc
    from outreach.render.layout import Image

EMU_PER_TWIP = 635
LOGO_HEIGHT_MM, SIGNATURE_HEIGHT_MM = 16, 14
LOGO_GUTTER = 340  # 6 mm between the logo and the letterhead's lines
LETTERHEAD_BELOW = 160  # 8 pt below the letterhead's rule
SMALL = 16  # 8 pt: the running header and footer
RETURN_SIZE = 13  # 6.5 pt: the return address above the window's address
WINDOW_SIZE = 19  # 9.5 pt: the address in the window
BESIDE_WINDOW = 3969  # 70 mm: the date and reference beside the window


class Layout:
    """One letter written into an empty :func:`~outreach.render.docx.base_document`."""

    def __init__(self, document: Any, doc: LetterDoc, paper: str) -> None:
        from outreach.render.layout import settings_of
        from outreach.render.pdf import letter_data

        self.document = document
        self.doc = doc
        self.paper = paper
        self.settings = settings_of(doc)
        self.runs = Runs(doc.language or "en")
        self.rtl = self.runs.rtl
        data = letter_data(doc)
        # the PDF isolates each piece of these lines (FSI ... PDI): here each
        # piece is a run of its own direction
        self.header_pieces = isolated_pieces(data["header"])
        self.footer_pieces = isolated_pieces(data["footer"])
        self.return_line: str = data["return_line"]
        self.logo_alt: str = data["logo_alt"]
        self.signature_alt: str = data["signature_alt"]
        self.body = document.element.body
        width, _height = PAPER_TWIPS[paper]
        self.text_width = width - 2 * MARGIN_X
        #: space to add above the next paragraph (after a table, say)
        self.pending_before: int | None = None

    # -- the pieces ----------------------------------------------------------------

    def append(self, container: Any, child: Any) -> Any:
        if container is self.body:
            self.body.sectPr.addprevious(child)
        else:
            container.append(child)
        return child

    def par(self, container: Any, style: str | None = None, **props: Any) -> Any:
        """A new paragraph at the end of *container* (the body or a cell)."""
        p = el("p")
        if container is self.body and self.pending_before is not None:
            props.setdefault("before", self.pending_before)
            self.pending_before = None
        set_ppr(p, style=style, bidi=self.rtl, **props)
        return self.append(container, p)

    def table(
        self,
        container: Any,
        widths: Sequence[int],
        *,
        indent: int = 0,
        visual_rtl: bool | None = None,
    ) -> Any:
        """A borderless table of fixed column *widths* (twips) without cell
        margins, its first column at the start of the line (at the right in a
        right-to-left letter unless *visual_rtl* is False)."""
        before = self.body.sectPr.getprevious() if container is self.body else None
        if before is not None and before.tag == w("tbl"):
            self.spacer(container, 20)  # Word would join two tables in a row
        tbl = el("tbl")
        tbl_pr = el("tblPr")
        if self.rtl if visual_rtl is None else visual_rtl:
            put(tbl_pr, el("bidiVisual"), TBLPR)
        elif self.rtl:
            # said outright: LibreOffice lays a table out right to left in a
            # right-to-left section unless told otherwise
            put(tbl_pr, el("bidiVisual", val="0"), TBLPR)
        put(tbl_pr, el("tblW", w=str(sum(widths)), type="dxa"), TBLPR)
        put(tbl_pr, el("tblInd", w=str(indent), type="dxa"), TBLPR)
        put(tbl_pr, el("tblLayout", type="fixed"), TBLPR)
        margins = el("tblCellMar")
        for side in ("top", "left", "bottom", "right"):
            margins.append(el(side, w="0", type="dxa"))
        put(tbl_pr, margins, TBLPR)
        put(tbl_pr, el("tblLook", val="0000", firstRow="0", lastRow="0", firstColumn="0",
                       lastColumn="0", noHBand="1", noVBand="1"), TBLPR)  # fmt: skip
        tbl.append(tbl_pr)
        grid = el("tblGrid")
        for width in widths:
            grid.append(el("gridCol", w=str(width)))
        tbl.append(grid)
        return self.append(container, tbl)

    def row(self, tbl: Any, *, height: int | None = None, rule: str = "exact") -> Any:
        tr = el("tr")
        tr_pr = el("trPr")
        put(tr_pr, el("cantSplit"), TRPR)
        if height is not None:
            put(tr_pr, el("trHeight", val=str(height), hRule=rule), TRPR)
        tr.append(tr_pr)
        tbl.append(tr)
        return tr

    def cell(
        self,
        tr: Any,
        width: int,
        *,
        span: int = 1,
        margin_left: int = 0,
        v_align: str = "top",
        bottom_rule: bool = False,
    ) -> Any:
        tc = el("tc")
        tc_pr = el("tcPr")
        put(tc_pr, el("tcW", w=str(width), type="dxa"), TCPR)
        if span > 1:
            put(tc_pr, el("gridSpan", val=str(span)), TCPR)
        if bottom_rule:
            borders = el("tcBorders")
            borders.append(el("bottom", val="single", sz="4", space="0", color=RULE))
            put(tc_pr, borders, TCPR)
        if margin_left or bottom_rule:
            margins = el("tcMar")
            if margin_left:
                margins.append(el("left", w=str(margin_left), type="dxa"))
            if bottom_rule:
                margins.append(el("bottom", w="120", type="dxa"))
            put(tc_pr, margins, TCPR)
        put(tc_pr, el("vAlign", val=v_align), TCPR)
        tc.append(tc_pr)
        tr.append(tc)
        return tc

    @staticmethod
    def close_cell(tc: Any) -> None:
        """Word wants every cell to end with a paragraph."""
        if len(tc) == 0 or tc[-1].tag != w("p"):
            tc.append(el("p"))

    def spacer(self, container: Any, height: int) -> None:
        """An empty paragraph *height* twips high (below a table: the space
        a paragraph's spacing would give, and what keeps two tables apart)."""
        p = self.par(container, line=height, line_rule="exact", before=0, after=0)
        run_props = el("rPr")
        put(run_props, el("sz", val="2"), RPR)
        put(run_props, el("szCs", val="2"), RPR)
        put(ppr_of(p), run_props, PPR)

    def picture(self, p: Any, image: Image, height_mm: float, alt: str) -> int:
        """*image* in the paragraph *p*, *height_mm* high; its width in twips."""
        import io

        from docx.shared import Mm
        from docx.text.paragraph import Paragraph

        # a line as high as the image: LibreOffice cuts the top off an image on
        # a line spaced closer than single
        set_ppr(p, line=240)
        paragraph = Paragraph(p, self.document._body)
        shape = paragraph.add_run().add_picture(io.BytesIO(image.data), height=Mm(height_mm))
        shape._inline.docPr.set("descr", for_xml(alt))
        return int(shape.width) // EMU_PER_TWIP

    def text(
        self,
        container: Any,
        style: str,
        block: Block | None,
        role: str = "text",
        size: int | None = None,
        **props: Any,
    ) -> Any:
        p = self.par(container, style, **props)
        if block is not None:
            self.runs.lines(p, block.lines, stand_alone=role in LINE_PARTS, size=size)
        return p

    # -- the parts -----------------------------------------------------------------

    def letterhead(self, container: Any, block: Block, width: int) -> None:
        """The sender's name and lines above a rule; the logo beside them."""
        logo = self.settings.logo if image_usable(self.settings.logo) else None
        if logo is None:
            self._letterhead_lines(container, block, rule=True)
            return
        lead = self.logo_width(logo, width // 2)
        tbl = self.table(container, [lead, width - lead])
        self._letterhead_cells(self.row(tbl), block, logo, lead, width - lead)
        self.spacer(container, LETTERHEAD_BELOW)

    def logo_width(self, logo: Image, most: int) -> int:
        """The logo's cell: the logo 16 mm high and the gap beside it (twips)."""
        from docx.image.image import Image as Picture

        picture = Picture.from_blob(logo.data)
        wide = LOGO_HEIGHT_MM * 1440 / 25.4 * picture.width / max(picture.height, 1)
        return min(int(wide) + LOGO_GUTTER, most)

    def _letterhead_cells(
        self, tr: Any, block: Block, logo: Image, lead: int, rest: int, *, span: int = 1,
        inset: int = 0, logo_last: bool = False,
    ) -> None:  # fmt: skip
        """The logo's cell and the letterhead's lines beside it (the logo
        first, or with *logo_last* at the right of the lines), a rule below."""

        def logo_cell() -> Any:
            tc = self.cell(tr, lead, margin_left=0 if logo_last else inset, v_align="center",
                           bottom_rule=True)  # fmt: skip
            self.picture(self.par(tc, after=0, jc="left"), logo, LOGO_HEIGHT_MM, self.logo_alt)
            return tc

        def lines_cell() -> Any:
            tc = self.cell(tr, rest, span=span, margin_left=inset if logo_last else 0,
                           v_align="center", bottom_rule=True)  # fmt: skip
            self._letterhead_lines(tc, block, rule=False, jc="right")
            return tc

        cells = [lines_cell(), logo_cell()] if logo_last else [logo_cell(), lines_cell()]
        for tc in cells:
            self.close_cell(tc)

    def _letterhead_lines(
        self, container: Any, block: Block, *, rule: bool, jc: str | None = None
    ) -> None:
        extra = {"jc": jc} if jc else {}
        name = self.par(container, "LetterHead", **extra)
        self.runs.lines(name, block.lines[:1], stand_alone=True)
        last = name
        if len(block.lines) > 1:
            last = self.par(container, "LetterHeadDetails", **extra)
            self.runs.lines(last, block.lines[1:], stand_alone=True)
        if rule:
            set_ppr(last, border=(4, 6, RULE), after=LETTERHEAD_BELOW)

    def dateline(self, container: Any, date: Block | None, ref: Block | None) -> None:
        """The reference at the start and the date at the end of one line."""
        if date is None or ref is None:
            style, role = (
                ("LetterDate", "date") if ref is None else ("LetterReference", "reference")
            )
            self.text(container, style, date or ref, role)
            return
        half = self.text_width // 2
        tbl = self.table(container, [half, self.text_width - half])
        tr = self.row(tbl)
        ref_cell = self.cell(tr, half)
        date_cell = self.cell(tr, self.text_width - half)
        self.text(ref_cell, "LetterReference", ref, "reference")
        self.text(date_cell, "LetterDate", date, "date")

    def window(self, parts: dict[str, list[Block | None]]) -> None:
        """The top of the first page for a window envelope: the letterhead
        in a row as high as the space above the window, then the address
        where the window is and the date (and reference) beside it. One
        table, no table inside it (LibreOffice then loses the first page's
        own header and footer)."""
        x, y, width, height = WINDOW_TWIPS[self.paper]
        page_width = PAPER_TWIPS[self.paper][0]
        beside = page_width - MARGIN_X - x - width
        inset = MARGIN_X - x  # the letterhead starts at the margin, the window before it
        head_block = parts["letterhead"][0] if parts.get("letterhead") else None
        logo = self.settings.logo if image_usable(self.settings.logo) else None
        logo = logo if head_block is not None else None
        # the window is where the envelope has it, in either direction; the
        # logo at the start of the letterhead, as in the PDF: at the right in
        # a right-to-left letter
        if logo is None:
            grid = [width, beside]
        elif self.rtl:
            lead = self.logo_width(logo, beside // 2)
            grid = [width, beside - lead, lead]
        else:
            lead = inset + self.logo_width(logo, width // 2)
            grid = [lead, width - lead, beside]
        tbl = self.table(self.body, grid, indent=x - MARGIN_X, visual_rtl=False)
        top = self.row(tbl, height=y - MARGIN_TOP)
        if logo is not None and head_block is not None:
            self._letterhead_cells(top, head_block, logo, lead, width + beside - lead, span=2,
                                   inset=inset, logo_last=self.rtl)  # fmt: skip
        else:
            head = self.cell(top, width + beside, span=len(grid), margin_left=inset)
            if head_block is not None:
                self._letterhead_lines(head, head_block, rule=True)
            self.close_cell(head)
        # at least as high as the window: a long address shows rather than loses its end
        row = self.row(tbl, height=height, rule="atLeast")
        wide_address = logo is not None and not self.rtl
        address = self.cell(row, width, span=2 if wide_address else 1)
        if self.return_line:
            p = self.par(address, after=20, border=(2, 1, "969696"), jc="left", no_hyphens=True)
            self.runs.add(p, self.return_line, size=RETURN_SIZE, color=GREY)
        self.text(address, "Addressee", parts["addressee"][0], "addressee", WINDOW_SIZE, after=0)
        self.close_cell(address)
        # the date and reference in a block as wide as the PDF's, at the right
        side = self.cell(row, beside, span=2 if logo is not None and self.rtl else 1,
                         margin_left=max(beside - BESIDE_WINDOW, 0))  # fmt: skip
        date, ref = parts.get("dateline") or (None, None)
        p = self.par(side, "LetterDate")
        for n, block in enumerate(b for b in (date, ref) if b is not None):
            if n:
                self.runs.line_break(p)
            self.runs.lines(p, block.lines, stand_alone=True)
        self.close_cell(side)
        self.pending_before = 454  # the subject 8 mm below the window

    def sign(self, closing: Block | None, signature: Block) -> None:
        """The closing kept with the signature: room to sign, or the image."""
        if closing is not None:
            self.text(self.body, "Closing", closing, "closing")
        image = self.settings.signature if image_usable(self.settings.signature) else None
        if image is not None:
            p = self.par(self.body, keep_next=True, before=80, after=40, jc="left")
            self.picture(p, image, SIGNATURE_HEIGHT_MM, self.signature_alt)
            self.text(self.body, "Signature", signature, "signature", before=0)
        else:
            self.text(self.body, "Signature", signature, "signature")

    # -- the page ------------------------------------------------------------------

    def section(self) -> None:
        from docx.shared import Twips

        section = self.document.sections[0]
        width, height = PAPER_TWIPS[self.paper]
        section.page_width, section.page_height = Twips(width), Twips(height)
        section.left_margin = section.right_margin = Twips(MARGIN_X)
        section.top_margin, section.bottom_margin = Twips(MARGIN_TOP), Twips(MARGIN_BOTTOM)
        section.header_distance = Twips(HEADER_DISTANCE)
        section.footer_distance = Twips(FOOTER_DISTANCE)
        section.gutter = Twips(0)
        section.different_first_page_header_footer = True
        if self.rtl:
            put(section._sectPr, el("bidi"), SECTPR)
        self._running_header(section)
        self._footers(section)

    def _running_header(self, section: Any) -> None:
        section.first_page_header.is_linked_to_previous = False
        set_ppr(section.first_page_header.paragraphs[0]._p, bidi=self.rtl)
        p = section.header.paragraphs[0]._p
        if self.header_pieces:
            set_ppr(p, bidi=self.rtl, border=(3, 1, "969696"), jc="left")
            self.runs.pieces(p, self.header_pieces, size=SMALL, color=GREY)
        else:
            set_ppr(p, bidi=self.rtl)

    def _footers(self, section: Any) -> None:
        section.first_page_footer.is_linked_to_previous = False
        first = section.first_page_footer.paragraphs[0]._p
        set_ppr(first, bidi=self.rtl, jc="center")
        if self.footer_pieces:
            self.runs.pieces(first, self.footer_pieces, size=SMALL, color=GREY)
        # (no "1/N" on page 1: an IF NUMPAGES field would say it in Word, but
        # LibreOffice shows such a field's inner fields run together: "212")
        later = section.footer.paragraphs[0]._p
        set_ppr(later, bidi=self.rtl, jc="center")
        self.field(later, *_field("PAGE", "2"))
        self.runs.add(later, "/", size=SMALL, color=GREY)
        self.field(later, *_field("NUMPAGES", "2"))

    def field(self, p: Any, *pieces: tuple[str, str | None]) -> None:
        """A Word field that Word fills in as it lays the pages out: its
        *pieces* are ("begin"|"separate"|"end", None), ("instr", code) and
        ("text", what shows until Word has filled it in)."""
        for kind, text in pieces:
            run = el("r")
            run.append(self.runs.rpr(size=SMALL, color=GREY))
            if kind == "instr":
                node = el("instrText")
                node.text = text
                node.set(XML_SPACE, "preserve")
            elif kind == "text":
                node = el("t")
                node.text = text
            else:
                node = el("fldChar", fldCharType=kind)
            run.append(node)
            p.append(run)

    # -- the letter ----------------------------------------------------------------

    def write(self, parts: list[tuple[str, list[Any]]]) -> None:
        self.section()
        windowed = self._window_parts(parts)
        placed = False
        for n, (kind, blocks) in enumerate(parts):
            if windowed is not None and n in windowed["indexes"]:
                if not placed:
                    self.window(windowed["parts"])
                    placed = True
                continue
            if kind == "letterhead":
                self.letterhead(self.body, blocks[0], self.text_width)
            elif kind == "dateline":
                self.dateline(self.body, blocks[0], blocks[1])
            elif kind == "sign":
                self.sign(blocks[0], blocks[1])
            else:
                self.text(self.body, ROLE_STYLES.get(kind, "LetterLines"), blocks[0], kind)
        if not len(self.body) or self.body[0].tag == w("sectPr"):
            self.par(self.body)

    def _window_parts(self, parts: list[tuple[str, list[Any]]]) -> dict[str, Any] | None:
        """Which parts go into the window block: the letterhead, date line and
        addressee before the first other part; None without a window envelope
        or an addressee."""
        if not self.settings.window_envelope:
            return None
        found: dict[str, list[Any]] = {}
        indexes = set()
        for n, (kind, blocks) in enumerate(parts):
            if kind not in ("letterhead", "dateline", "addressee") or kind in found:
                break
            found[kind] = blocks
            indexes.add(n)
        if "addressee" not in found:
            return None
        return {"parts": found, "indexes": indexes}


def _field(code: str, shown: str) -> list[tuple[str, str | None]]:
    return [("begin", None), ("instr", f" {code} "), ("separate", None), ("text", shown),
            ("end", None)]  # fmt: skip


_ISOLATE = re.compile("\u2068(.*?)\u2069", re.S)


def isolated_pieces(text: str) -> list[str]:
    """The pieces of a line the PDF layout wrote as isolates (FSI piece PDI,
    " · " between them); a line without isolates is one piece."""
    found = _ISOLATE.findall(text)
    if found:
        return [piece for piece in found if piece]
    return [text] if text else []
