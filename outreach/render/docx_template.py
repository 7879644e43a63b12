"""Letters in a letterhead designed in Word: a ``.docx`` file with docxtpl's
Jinja tags (``--docx-template FILE``), filled with the letter's parts.

The designed file keeps its own page, letterhead, fonts and footer; it
prints the letter's parts where it names them (``letters/README.md``, "Word
letterheads", lists them)::

    {{ place_and_date }}               New York, 20 March 2012
    {%p for line in addressee %}       one paragraph per line of the address
    {{ line }}
    {%p endfor %}
    {{ subject_line }}                 Subject: ...
    {{ salutation }}
    {{p body }}                        the letter's paragraphs, each a Word paragraph
    {{ closing }}
    {{ signatory }}, {{ signatory_title }}

Every value is plain text in the letter's language: the recipient's name or
address is data, never template code. docxtpl runs with ``autoescape=True``
in Jinja's immutable sandbox (the file is the user's code), with
``StrictUndefined``; each value escapes itself for Word's XML, braces
included, so nothing typed in a name can become a tag (docxtpl turns
``{_{`` back into ``{{`` after rendering). The body's paragraphs take the
paragraph and run formatting of the paragraph that holds ``{{p body }}``
(justified unless it says otherwise) and keep the letter's bold and italic,
its direction and complex-script fonts. Bold, italic and sizes set for
Latin text are set for complex scripts too (Word draws Arabic with
``w:bCs``/``w:szCs``), and in a right-to-left letter the paragraphs of the
template's body run right to left unless they say their direction (its
headers and footers stay as designed). The page, fonts and spacing are the
template's: the one-page promise of the built-in layout is the designer's
to keep. A file that is not a Word document, a Jinja syntax error, or a
variable the letter does not give is refused in one line naming the file.
The sandbox limits what a template can reach, not how long its loops run:
the file is the secretariat's own.
"""

from __future__ import annotations

import copy
import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach.errors import ValidationError
from outreach.render.layout import roles
from outreach.render.markdown import Block, blocks
from outreach.render.wordml import PPR, Runs, el, ppr_of, put, w
from outreach.safetext import for_xml

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc

#: The names a Word letterhead can use (see the module's docstring).
VARIABLES = (
    "date", "place_and_date", "reference", "reference_line", "addressee", "subject",
    "subject_line", "salutation", "body", "closing", "signature", "signatory",
    "signatory_title", "sender_organization", "cc", "enclosures", "postscript",
    "organization", "contact", "language", "rtl",
)  # fmt: skip
#: The largest template read, and the most its parts may hold unpacked.
MAX_TEMPLATE_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
FIELD = "docx_template"

_BODY_TAG = re.compile(r"\{\{\s*p\s+body\s*\}\}")
_BLANKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]")
_OVERRIDES = re.compile("[\u202a-\u202e]")


@dataclass(frozen=True)
class WordTemplate:
    """A Word letterhead, read and checked once: its file's name and bytes."""

    name: str
    data: bytes


class Text(str):
    """A value for the template: plain text that writes itself into Word's
    XML escaped, braces as character references (docxtpl would read a typed
    ``{_{`` as ``{{``)."""

    __slots__ = ()

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self))).replace("{", "&#123;").replace("}", "&#125;")


def text(value: Any) -> Text:
    """*value* as one line of plain text: line breaks and tabs as spaces,
    what XML forbids as U+FFFD, no bidi overrides."""
    return Text(_OVERRIDES.sub("", for_xml(_BLANKS.sub(" ", "" if value is None else str(value)))))


class Paragraphs:
    """The body for ``{{p body }}``: Word paragraphs, made in the formatting
    of the template's own body paragraph. Iterating gives each paragraph's
    plain text (``{%p for paragraph in body %}``)."""

    def __init__(self, xml: str, texts: list[Text]) -> None:
        self._xml = xml
        self._texts = texts

    def __html__(self) -> str:
        return self._xml

    def __iter__(self) -> Any:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def __str__(self) -> str:
        return "\n\n".join(self._texts)


def _plain(block: Block | None) -> Text:
    """A block's text, its lines apart as the letter has them (docxtpl
    writes a line break for each ``\n``)."""
    if block is None:
        return Text("")
    return Text("\n".join(text("".join(s.text for s in line)) for line in block.lines))


def _lines(block: Block | None) -> list[Text]:
    if block is None:
        return []
    return [text("".join(s.text for s in line)) for line in block.lines]


def _body_format(document: Any) -> tuple[Any, Any]:
    """The paragraph and run properties of the template's ``{{p body }}``
    paragraph (None where it has none)."""
    for p in document.element.body.iter(w("p")):
        if _BODY_TAG.search("".join(t.text or "" for t in p.iter(w("t")))):
            ppr = p.find(w("pPr"))
            rpr = next((r.find(w("rPr")) for r in p.iter(w("r")) if r.find(w("rPr")) is not None),
                       None)  # fmt: skip
            return copy.deepcopy(ppr), copy.deepcopy(rpr)
    return None, None


def _body(doc: LetterDoc, parts: list[tuple[Block, str]], ppr: Any, rpr: Any) -> Paragraphs:
    from lxml import etree

    runs = Runs(doc.language or "en")
    xml, texts = [], []
    for block, role in parts:
        if role not in ("text", "lines", "heading"):
            continue
        p = el("p")
        if ppr is not None:
            p.append(copy.deepcopy(ppr))
        properties = ppr_of(p)
        if role == "text" and properties.find(w("jc")) is None:
            put(properties, el("jc", val="both"), PPR)
        if runs.rtl and properties.find(w("bidi")) is None:
            put(properties, el("bidi"), PPR)
        runs.lines(p, block.lines, stand_alone=role == "lines", bold=block.kind == "h", base=rpr)
        xml.append(etree.tostring(p, encoding="unicode"))
        texts.append(text(" ".join("".join(s.text for s in line) for line in block.lines)))
    # the text of the paragraphs is the letter's: its braces as character references
    joined = "".join(xml).replace("{", "&#123;").replace("}", "&#125;")
    return Paragraphs(joined, texts)


def context(doc: LetterDoc, document: Any = None) -> dict[str, Any]:
    """What a Word letterhead sees of *doc*: plain strings in the letter's
    language (lists of them for the address and the signature)."""
    from outreach.render.pdf import _date_text
    from outreach.templating import is_rtl

    parts = blocks(doc.body)
    kinds = roles(parts)
    first: dict[str, Block] = {}
    for block, role in zip(parts, kinds, strict=True):
        first.setdefault(role, block)
    sender = doc.sender or {}
    ppr, rpr = _body_format(document) if document is not None else (None, None)
    return {
        "date": text(_date_text(doc)),
        "place_and_date": _plain(first.get("date")) or text(_date_text(doc)),
        "reference": text(doc.reference or ""),
        "reference_line": _plain(first.get("reference")),
        "addressee": _lines(first.get("addressee")),
        "subject": text(doc.subject),
        "subject_line": _plain(first.get("subject")) or text(doc.subject),
        "salutation": _plain(first.get("salutation")),
        "body": _body(doc, list(zip(parts, kinds, strict=True)), ppr, rpr),
        "closing": _plain(first.get("closing")),
        "signature": _lines(first.get("signature")),
        "signatory": text(sender.get("signatory") or ""),
        "signatory_title": text(sender.get("signatory_title") or ""),
        "sender_organization": text(sender.get("organization") or sender.get("name") or ""),
        "cc": _plain(first.get("cc")),
        "enclosures": _plain(first.get("enclosures")),
        "postscript": _plain(first.get("postscript")),
        "organization": text(doc.organization),
        "contact": text(doc.contact),
        "language": text(doc.language or "en"),
        "rtl": is_rtl(doc.language),
    }


# -- the template ------------------------------------------------------------------


def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


def _refused(name: str, what: str) -> ValidationError:
    return ValidationError(f"{name}: {what}", field=FIELD)


def _open(template: WordTemplate) -> Any:
    """The docxtpl template of *template*, or a one-line refusal."""
    from docxtpl import DocxTemplate
    from lxml.etree import XMLSyntaxError

    try:
        with zipfile.ZipFile(io.BytesIO(template.data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
            if unpacked > MAX_UNPACKED_BYTES:
                raise _refused(template.name, "unpacks to more than 100 MiB; not a letterhead")
        tpl = DocxTemplate(io.BytesIO(template.data))
        tpl.init_docx()
    except ValidationError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError, OSError) as error:
        reason = " ".join(str(error).split())[:120] or type(error).__name__
        raise _refused(template.name, f"not a Word document (.docx): {reason}") from None
    except Exception as error:  # python-docx's PackageNotFoundError and the like
        if type(error).__module__.startswith("docx"):
            raise _refused(template.name, "not a Word document (.docx)") from None
        raise
    return tpl


def _near(source: str, line: int | None) -> str:
    """The template's text around the XML *line* an error names."""
    if not line:
        return ""
    lines = source.splitlines()
    found = " ".join(re.sub(r"<[^>]+>", "", lines[line - 1]).split()) if line <= len(lines) else ""
    return f" near “{found[:60]}”" if found else ""


def _template_error(name: str, error: Exception, source: str = "") -> ValidationError:
    from jinja2 import TemplateSyntaxError, UndefinedError

    message = " ".join(str(getattr(error, "message", None) or error).split())[:200]
    line = getattr(error, "lineno", None)
    near = _near(source, line) if source else ""
    if not near and getattr(error, "docx_context", None):
        shown = " ".join(" ".join(error.docx_context).split())  # type: ignore[attr-defined]
        near = f" near “{shown[:60]}”" if shown else ""
    if isinstance(error, TemplateSyntaxError):
        return _refused(name, f"Jinja syntax error{near}: {message}")
    if isinstance(error, UndefinedError):
        return _refused(
            name, f"unknown variable{near}: {message} (it can use: {', '.join(VARIABLES)})"
        )
    return _refused(name, f"the template failed{near}: {message}")


def _source(tpl: Any) -> str:
    """The template's Jinja as docxtpl reads it: its body, headers and footers."""
    from docx.opc.oxml import parse_xml

    source = tpl.patch_xml(tpl.get_xml())
    for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
        for rel in tpl.docx.part.rels.values():
            if rel.reltype == uri and not rel.is_external:
                source += tpl.patch_xml(tpl.xml_to_string(parse_xml(rel.target_part.blob)))
    return source


def load_template(path: str | os.PathLike[str]) -> WordTemplate:
    """The Word letterhead at *path*, read and checked: a ``.docx`` file
    whose Jinja compiles, uses only :data:`VARIABLES` and prints the body."""
    from jinja2 import TemplateError
    from jinja2 import meta as jinja_meta

    file = Path(path).expanduser()
    name = file.name or str(file)
    try:
        size = file.stat().st_size
        if not file.is_file():
            raise IsADirectoryError(str(file))
        if size > MAX_TEMPLATE_BYTES:
            raise _refused(name, f"is {size // (1024 * 1024)} MiB; a letterhead is at most 10 MiB")
        data = file.read_bytes()
    except OSError as error:
        raise _refused(
            name, f"cannot read {file} ({error.strerror or 'not a file'}); give a .docx file"
        ) from None
    template = WordTemplate(name, data)
    tpl = _open(template)
    source = _source(tpl)
    env = _environment()
    try:
        used = jinja_meta.find_undeclared_variables(env.parse(source))
    except TemplateError as error:
        raise _template_error(name, error, source) from None
    unknown = sorted(set(used) - set(VARIABLES) - set(env.globals))
    if unknown:
        raise _refused(
            name,
            f"unknown variable {', '.join(unknown)} (it can use: {', '.join(VARIABLES)})",
        )
    if "body" not in used:
        raise _refused(name, "never prints the letter's text: put {{p body }} in a paragraph")
    return template


def render_template(doc: LetterDoc, template: WordTemplate | str | os.PathLike[str]) -> bytes:
    """*doc* in the Word letterhead *template* (a path, or a loaded one)."""
    from jinja2 import TemplateError
    from jinja2.sandbox import SecurityError

    from outreach.render.docx import fixed_zip, set_properties

    if not isinstance(template, WordTemplate):
        template = load_template(template)
    tpl = _open(template)
    values = context(doc, tpl.docx)
    try:
        tpl.render(values, jinja_env=_environment(), autoescape=True)
    except (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError,
            LookupError, AttributeError, RecursionError) as error:  # fmt: skip
        raise _template_error(template.name, error) from None
    _check_body(template.name, tpl.docx)
    _complex_scripts(tpl.docx)
    if values["rtl"]:
        _right_to_left(tpl.docx)
    set_properties(tpl.docx, doc, application=False)
    buf = io.BytesIO()
    tpl.save(buf)
    return fixed_zip(buf.getvalue(), doc.date)


def _check_body(name: str, document: Any) -> None:
    """The body's paragraphs must stand where a paragraph may: ``{{ body }}``
    inside a line would put paragraphs into a piece of text."""
    for t in document.element.body.iter(w("t")):
        if len(t):
            raise _refused(name, "write {{p body }} (with p), in a paragraph of its own")


def _right_to_left(document: Any) -> None:
    """A right-to-left letter's paragraphs run right to left (unless the
    template says a paragraph's direction): the start of a line is at the
    right, "right" alignment at the left, as Word mirrors a paragraph made
    right to left. The headers and footers stay as designed."""
    for p in document.element.body.iter(w("p")):
        properties = ppr_of(p)
        if properties.find(w("bidi")) is None:
            put(properties, el("bidi"), PPR)


def _complex_scripts(document: Any) -> None:
    """Bold, italic and sizes for complex scripts too: Word draws Arabic with
    ``w:bCs``, ``w:iCs`` and ``w:szCs``, which a letterhead designed for
    Latin letters seldom sets."""
    from outreach.render.wordml import RPR

    for rpr in document.element.body.iter(w("rPr")):
        for latin, complex_script in (("b", "bCs"), ("i", "iCs"), ("sz", "szCs")):
            found = rpr.find(w(latin))
            if found is not None and rpr.find(w(complex_script)) is None:
                twin = el(complex_script, **({"val": v} if (v := found.get(w("val"))) else {}))
                put(rpr, twin, RPR)
