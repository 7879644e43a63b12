"""A letter's e-mail as diplomats send it: a short cover note in the letter's
language, the letter itself attached as a PDF, the campaign's attachments and
the recipient's own, and the letter's cc recipients.

The cover note is derived when the message is made, from the stored letter
and the ``{% block cover %}`` of its template (each shipped letterhead has
one): nothing new is stored, and sending refuses a letter whose template or
campaign settings changed since it was made (the stale-letter check), so the
cover note sent is the one the approved letter's template gives.
:func:`letter_mail` serves both a send (:mod:`outreach.sending.batch`) and an
``.eml`` file (:mod:`outreach.sending.eml`), which is why the two are the same
bytes.

Campaign settings, in the campaign's variables:

``email_attachments``
    a path or a list of paths: files attached to every letter's e-mail
    (a concept note, the Secretary-General's report);
``email_attachments_folder``
    a folder of files for single recipients, named by the organization's
    acronym: ``AU.pdf`` (or ``AU-anything.pdf``) goes to the African Union
    only, as does every file in a subfolder ``AU/``;
``email_max_size``
    the largest message that may be sent, in bytes or as ``"10 MB"``
    (default :data:`DEFAULT_MAX_SIZE`; ``$OUTREACH_MAIL_MAX_SIZE`` overrides it).
"""

from __future__ import annotations

import functools
import mimetypes
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach.files import portable_filename
from outreach.sending.message import Attachment, LetterMail, MessageError

if TYPE_CHECKING:  # pragma: no cover
    from outreach.render.doc import LetterDoc

#: The campaign variables read here (templates see them too; they hold no text).
ATTACHMENTS_KEY = "email_attachments"
FOLDER_KEY = "email_attachments_folder"
MAX_SIZE_KEY = "email_max_size"
ENV_MAX_SIZE = "OUTREACH_MAIL_MAX_SIZE"
#: The largest message sent unless the campaign says otherwise: 10 MB.
DEFAULT_MAX_SIZE = 10 * 1024 * 1024

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3}


def parse_size(value: Any, what: str = "the size limit") -> int:
    """*value* (``10485760``, ``"10 MB"``, ``"512k"``, ``"2MiB"``) in bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.fullmatch(str(value)) if isinstance(value, str | float) else None
    if not match:
        raise MessageError(f"{what} {value!r} is not a size (e.g. 10 MB)")
    unit = (match.group(2) or "").lower()
    factor = _UNITS[unit[:1]] if "i" not in unit else 1024 ** "bkmg".index(unit[0])
    size = int(float(match.group(1)) * factor)
    if size <= 0:
        raise MessageError(f"{what} {value!r} is not a size (e.g. 10 MB)")
    return size


def max_size(variables: Mapping[str, Any] | None) -> int:
    """The largest message the campaign sends, in bytes."""
    env = os.environ.get(ENV_MAX_SIZE, "").strip()
    if env:
        return parse_size(env, f"${ENV_MAX_SIZE}")
    value = (variables or {}).get(MAX_SIZE_KEY)
    return DEFAULT_MAX_SIZE if value in (None, "") else parse_size(value, MAX_SIZE_KEY)


def human_size(size: int) -> str:
    return f"{size / 1000**2:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"


# -- the cover note --------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _template_set(folder: str | None) -> Any:
    from outreach.templating import TemplateSet

    return TemplateSet(folder)


def _cover_block(templates: Any, filename: str) -> tuple[Any, Any] | None:
    """(template, block function) of the most derived ``cover`` block in the
    chain of templates *filename* extends, or None if none has one."""
    from jinja2 import nodes

    seen: set[str] = set()
    name: str | None = filename
    while name and name not in seen:
        seen.add(name)
        template = templates.env.get_template(name)
        if "cover" in template.blocks:
            return template, template.blocks["cover"]
        source = templates.env.loader.get_source(templates.env, name)[0]
        extends = templates.env.parse(source).find(nodes.Extends)
        target = getattr(extends, "template", None)
        name = target.value if isinstance(target, nodes.Const) else None
    return None


def _cover_template(templates: Any, doc: LetterDoc) -> str:
    """The template whose cover block the letter's e-mail uses: the letter's
    own, or (a letter rendered from no named template) its language's letterhead."""
    if doc.template_name and templates.exists(doc.template_name):
        return doc.template_name
    own = f"letterhead.{doc.language}.md.j2"
    return own if templates.exists(own) else "letterhead.md.j2"


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip("\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def cover_note(doc: LetterDoc, attachment_names: list[str]) -> str:
    """The letter's cover note, from the ``cover`` block of its template, in
    its language (Markdown, as letters are)."""
    from outreach.letters.localizing import contact_in, sender_in
    from outreach.templating import Record, sender_context
    from outreach.templating.limits import _STATE, _Budget, _joined

    templates = _template_set(doc.templates)
    filename = _cover_template(templates, doc)
    try:
        found = _cover_block(templates, filename)
    except Exception as exc:  # a template that is gone or broken
        raise MessageError(f"the cover note's template {filename}: {exc}") from None
    if found is None:
        raise MessageError(f"the template {filename} has no cover block for the e-mail")
    template, block = found
    contact = contact_in({**(doc.contact_details or {}), "name": doc.contact}, doc.language)
    context = {
        "sender": sender_in(
            sender_context(doc.sender, None), doc.language, doc.default_language or "en"
        ),
        "contact": contact,
        "organization": Record(name=doc.organization, acronym=doc.acronym),
        "subject": doc.subject,
        "letter": Record(
            id=doc.id,
            date=doc.date,
            round=doc.round,
            reference=getattr(doc, "reference", None),
        ),
        "attachments": list(attachment_names),
        "language": doc.language,
        "today": doc.date,
    }
    outer = getattr(_STATE, "budget", None)
    _STATE.budget = budget = _Budget(templates.limits)
    try:
        text = _joined(block(template.new_context(context)), budget, "the cover note")
    except Exception as exc:  # the template's error, said for this letter
        raise MessageError(f"the cover note ({template.name}): {exc}") from None
    finally:
        _STATE.budget = outer
    return _tidy(text)


# -- attachments -----------------------------------------------------------------


def letter_filename(doc: LetterDoc) -> str:
    """``AU-letter-12.pdf``: the organization's acronym and the letter's
    reference (or id), as a file name every system takes."""
    ref = getattr(doc, "reference", None) or (f"letter-{doc.id}" if doc.id else "letter")
    return portable_filename(f"{doc.acronym}-{ref}.pdf".replace("/", "-"), "letter.pdf")


def _file(path: Path, what: str) -> Attachment:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MessageError(f"{what} {path}: {exc.strerror or exc}") from None
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Attachment(portable_filename(path.name), ctype, data)


def _paths(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise MessageError(f"the campaign variable {ATTACHMENTS_KEY} is not a list of file paths")


def _own_files(folder: Path, acronym: str) -> list[Path]:
    """The files in *folder* for the organization *acronym*: ``AU.pdf``,
    ``AU-...``, ``AU_...`` and everything in ``AU/``."""
    if not folder.is_dir():
        raise MessageError(f"the attachments folder {folder} is not a folder")
    key = acronym.casefold()
    found = []
    for entry in sorted(folder.iterdir()):
        stem = entry.name.split(".", 1)[0].casefold()
        if entry.is_dir() and entry.name.casefold() == key:
            found += sorted(p for p in entry.iterdir() if p.is_file())
        elif entry.is_file() and (stem == key or re.match(re.escape(key) + r"[-_ ]", stem)):
            found.append(entry)
    return found


def extra_attachments(doc: LetterDoc) -> list[Attachment]:
    """The campaign's attachments, then the recipient's own, in name order."""
    variables = doc.variables or {}
    paths = _paths(variables.get(ATTACHMENTS_KEY))
    out = [_file(Path(p), "the campaign attachment") for p in paths]
    folder = variables.get(FOLDER_KEY)
    if folder:
        out += [_file(p, "the attachment") for p in _own_files(Path(str(folder)), doc.acronym)]
    return out


def _cc(doc: LetterDoc) -> tuple[tuple[str | None, str], ...]:
    """(name, address) of each cc recipient with an address, the To address left out."""
    to = (doc.to_address or doc.contact_email or "").strip().casefold()
    seen = {to}
    out = []
    for entry in doc.cc or ():
        address = str((entry or {}).get("email") or "").strip()
        if address and address.casefold() not in seen:
            seen.add(address.casefold())
            out.append((entry.get("name") or None, address))
    return tuple(out)


def letter_pdf(doc: LetterDoc) -> bytes:
    """The letter as the PDF attached to its e-mail, dated the letter's date
    when the engine takes a creation time (so that a send and its ``.eml``
    file carry the same bytes)."""
    from outreach.render.pdf import to_pdf

    return to_pdf([doc])  # dated by the letter: the same bytes every time


def letter_mail(doc: LetterDoc, *, to: str | None = None) -> LetterMail:
    """What the message builder takes of *doc*: the cover note, the letter as
    PDF, the attachments and the cc, for a send and an ``.eml`` file alike."""
    extras = extra_attachments(doc)
    cover = cover_note(doc, [a.filename for a in extras])
    try:
        pdf = letter_pdf(doc)
    except Exception as exc:  # the engine's refusal, named for this letter
        raise MessageError(f"the letter could not be made into a PDF: {exc}") from None
    letter = Attachment(letter_filename(doc), "application/pdf", pdf)
    return LetterMail(
        letter_id=doc.id or 0,
        organization_id=doc.organization_id or 0,
        acronym=doc.acronym,
        contact_name=doc.contact,
        to_address=to if to is not None else (doc.to_address or doc.contact_email),
        subject=doc.subject or "",
        body=doc.body,
        language=doc.language,
        round=doc.round,
        in_reply_to=doc.in_reply_to,
        message_id=doc.message_id or None,
        cover=cover,
        attachments=(letter, *extras),
        cc=_cc(doc),
        max_size=max_size(doc.variables),
    )


def stored_docs(session: Any, letter_ids: list[int]) -> dict[int, LetterDoc]:
    """{id: the stored letter as a document} for the *letter_ids*, as
    ``letters write`` loads them for ``.eml`` files."""
    if not letter_ids:
        return {}
    import sqlalchemy as sa

    from outreach.letters.review import letter_doc
    from outreach.schema.models import Letter

    letters = session.scalars(sa.select(Letter).where(Letter.id.in_(letter_ids)))
    return {letter.id: letter_doc(letter) for letter in letters}
