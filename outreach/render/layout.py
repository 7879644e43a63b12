"""What a printed letter looks like beyond its text: the page settings of a
campaign, and the letter's parts in order.

Page settings are campaign variables (``--vars FILE`` or ``--set``), read by
every printed format (PDF and DOCX)::

    letter_paper = "letter"            # "a4" (the default) or "letter" (US Letter)
    letter_logo = "art/logo.svg"       # PNG, JPEG or SVG, printed at the letterhead
    letter_footer = "Coalition · 708 Third Avenue · New York"   # the first page's foot
    # (or one per language: letter_footer = { en = "...", fr = "..." })
    letter_signature = "art/signed.png"  # a signature image above the signatory's name
    letter_window_envelope = true      # the address where a window envelope shows it
    letter_duplex = true               # combined PDF: each letter starts on a front side

``generate``/``preview`` options (``--paper``, ``--window-envelope``,
``--duplex``) override them for one run, and the ``letters.paper`` /
``letters.logo`` settings (``outreach config``) give a machine-wide default.

The parts come from the letter's Markdown (:mod:`outreach.render.markdown`):
the letterheads mark them (``::: addressee``); a letter without markers has
them guessed from their place, as letters made before the markers were.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach.errors import ValidationError
from outreach.render.markdown import Block

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc

#: Campaign variables read here (a template sees them too; they hold no text
#: but the footer).
PAPER_KEY = "letter_paper"
LOGO_KEY = "letter_logo"
FOOTER_KEY = "letter_footer"
SIGNATURE_KEY = "letter_signature"
WINDOW_KEY = "letter_window_envelope"
DUPLEX_KEY = "letter_duplex"

PAPERS = ("a4", "letter")
#: Paper names a letter may carry -> the names the layouts give them.
PAPER_NAMES = {"a4": "a4", "letter": "us-letter", "us-letter": "us-letter"}
#: Image types a letterhead or signature may be, by their first bytes.
_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpg",
}
#: The largest logo or signature image read (a letterhead is not a poster).
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_FOOTER = 300


@dataclass(frozen=True)
class Image:
    """An image for the page, read once: its bytes and its type."""

    data: bytes
    kind: str  # png, jpg or svg

    @property
    def name(self) -> str:
        import hashlib

        return f"img-{hashlib.sha256(self.data).hexdigest()[:16]}.{self.kind}"


@dataclass(frozen=True)
class PageSettings:
    paper: str = "a4"
    logo: Image | None = None
    #: The first page's footer line by language ("" for any language).
    footers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    signature: Image | None = None
    window_envelope: bool = False
    duplex: bool = False

    def footer(self, language: str, default_language: str = "en") -> str:
        """The footer line in *language*, else the one for any language, else
        the campaign's default language's."""
        for key in (language, language.split("-")[0], "", default_language):
            if self.footers.get(key):
                return self.footers[key]
        return ""


@functools.lru_cache(maxsize=32)
def _read(path: str, _mtime_ns: int, _size: int) -> bytes:
    """A file's bytes, read once while it stays as it is (one logo, many letters)."""
    return Path(path).read_bytes()


def read_image(path: str | Path, what: str) -> Image:
    """The image at *path*, refused in one line unless it is a PNG, JPEG or
    SVG file of at most :data:`MAX_IMAGE_BYTES`."""
    file = Path(path).expanduser()
    try:
        size = file.stat().st_size
        if not file.is_file():
            raise IsADirectoryError(str(file))
        if size > MAX_IMAGE_BYTES:
            raise ValidationError(
                f"{what}: {file} is {size // 1024} KiB; use an image of at most "
                f"{MAX_IMAGE_BYTES // (1024 * 1024)} MiB",
                field=what,
            )
        data = _read(str(file), file.stat().st_mtime_ns, size)
    except OSError as error:
        raise ValidationError(
            f"{what}: cannot read {file} ({error.strerror or 'not a file'}); "
            "give the path of a PNG, JPEG or SVG file",
            field=what,
        ) from None
    for magic, kind in _IMAGE_MAGIC.items():
        if data.startswith(magic):
            return Image(data, kind)
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return Image(data, "svg")
    raise ValidationError(f"{what}: {file} is not a PNG, JPEG or SVG image", field=what)


def _flag(variables: Mapping[str, Any], key: str) -> bool:
    value = variables.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {
        "true",
        "yes",
        "1",
        "false",
        "no",
        "0",
        "",
    }:
        return value.strip().lower() in {"true", "yes", "1"}
    raise ValidationError(
        f"the campaign variable {key} is {value!r}: set it to true or false", field=key
    )


def page_settings(
    variables: Mapping[str, Any] | None,
    *,
    paper: str | None = None,
    window_envelope: bool | None = None,
    duplex: bool | None = None,
    default_paper: str | None = None,
    default_logo: str | None = None,
) -> PageSettings:
    """The page settings of a campaign (its *variables*), with one run's
    overrides and the machine's defaults; each bad value refused in one line
    naming the variable."""
    variables = variables or {}
    chosen = paper or variables.get(PAPER_KEY) or default_paper or "a4"
    if not isinstance(chosen, str) or chosen.strip().lower() not in PAPERS:
        raise ValidationError(
            f"paper size {chosen!r} is not known (campaign variable {PAPER_KEY} or --paper): "
            f"use one of {', '.join(PAPERS)}",
            field=PAPER_KEY,
        )
    logo_path = variables.get(LOGO_KEY) or default_logo
    signature_path = variables.get(SIGNATURE_KEY)
    for key, value in ((LOGO_KEY, logo_path), (SIGNATURE_KEY, signature_path)):
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"the campaign variable {key} is not a file path", field=key)
    footer = variables.get(FOOTER_KEY) or ""
    texts = footer if isinstance(footer, Mapping) else {"": footer}
    if not all(
        isinstance(k, str) and isinstance(v, str) and len(v) <= MAX_FOOTER for k, v in texts.items()
    ):
        raise ValidationError(
            f"the campaign variable {FOOTER_KEY} must be text of at most {MAX_FOOTER} "
            'characters, or a table of such texts by language (en = "...", fr = "...")',
            field=FOOTER_KEY,
        )
    footers = {k.strip().lower(): " ".join(v.split()) for k, v in texts.items()}
    return PageSettings(
        paper=chosen.strip().lower(),
        logo=read_image(logo_path, LOGO_KEY) if logo_path else None,
        footers=footers,
        signature=read_image(signature_path, SIGNATURE_KEY) if signature_path else None,
        window_envelope=_flag(variables, WINDOW_KEY)
        if window_envelope is None
        else window_envelope,
        duplex=_flag(variables, DUPLEX_KEY) if duplex is None else duplex,
    )


def settings_of(doc: LetterDoc) -> PageSettings:
    """How *doc* is printed: its page settings, else plain pages of its paper."""
    return getattr(doc, "page", None) or PageSettings(paper=(doc.paper or "a4").strip().lower())


def paper_of(doc: LetterDoc) -> str:
    """*doc*'s paper as the layouts name it ("a4", "us-letter"), or the one-line
    error of a paper no layout knows."""
    name = settings_of(doc).paper
    try:
        return PAPER_NAMES[name]
    except KeyError:
        raise ValidationError(
            f"{doc.acronym}: unknown paper size {name!r} (use one of: a4, letter)",
            field="paper",
        ) from None


def _all_bold(block: Block) -> bool:
    return all(span.bold for line in block.lines for span in line if span.text.strip())


def roles(parts: list[Block]) -> list[str]:
    """What each block of the letter is: its marker's part, or for a block
    without one, a part read from its place and shape.

    Unmarked, the templates wrote the letterhead first (its first line bold),
    then the place and date on one line, the addressee block, the subject in
    bold, and the body. Anything else is a paragraph: ``text`` when it is one
    line of running text (justified), ``lines`` when the template broke its
    lines (addresses, signatures)."""
    if any(block.role for block in parts):
        return [
            block.role or ("heading" if block.kind == "h" else _shape(block)) for block in parts
        ]
    out: list[str] = []
    for n, block in enumerate(parts):
        first_bold = bool(block.lines) and all(s.bold for s in block.lines[0] if s.text.strip())
        if block.kind == "h":
            role = "heading"
        elif n == 0 and first_bold:
            role = "letterhead"
        elif n == 1 and out == ["letterhead"] and len(block.lines) == 1:
            role = "date"
        elif len(block.lines) == 1 and _all_bold(block) and "subject" not in out:
            role = "subject"
        else:
            role = _shape(block)
        out.append(role)
    if len(out) > 3 and out[-1] == "lines":
        out[-1] = "signature"  # the last block: signatory, title, organization
    return out


def _shape(block: Block) -> str:
    return "text" if len(block.lines) == 1 else "lines"


def with_overrides(
    page: PageSettings | None,
    *,
    paper: str | None = None,
    window_envelope: bool | None = None,
    duplex: bool | None = None,
) -> PageSettings:
    """*page* with one run's choices (``--paper``, ``--window-envelope``, ``--duplex``)."""
    page = page or PageSettings()
    if paper is not None:
        if paper.strip().lower() not in PAPERS:
            raise ValidationError(
                f"--paper {paper!r}: use one of {', '.join(PAPERS)}", option="--paper"
            )
        page = dataclasses.replace(page, paper=paper.strip().lower())
    if window_envelope is not None:
        page = dataclasses.replace(page, window_envelope=window_envelope)
    if duplex is not None:
        page = dataclasses.replace(page, duplex=duplex)
    return page


#: First strong isolate and pop directional isolate (Unicode bidi, UAX #9).
FSI, PDI = "\u2068", "\u2069"
#: The parts whose lines stand alone (names, addresses): each line keeps its
#: own direction. Running text follows the letter's.
LINE_PARTS = frozenset(
    {"letterhead", "date", "reference", "addressee", "signature", "cc", "enclosures", "lines"}
)


def needs_isolate(line: str, rtl: bool) -> bool:
    """Whether a stand-alone *line* runs wholly the other way from its letter:
    an address in Latin letters in an Arabic letter ("708 Third Avenue",
    which the bidi algorithm would otherwise show as "Third Avenue 708"), or
    an Arabic name in an English one. A line with words of both directions
    ("New York، في 20 مارس 2012") follows the letter's."""
    import unicodedata

    own = other = False
    for ch in line:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            own, other = (own, True) if rtl else (True, other)
        elif kind in ("R", "AL"):
            own, other = (True, other) if rtl else (own, True)
        if own:
            return False
    return other
