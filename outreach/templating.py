"""Letter templates: Jinja2 in the sandbox, in every recipient's language.

Templates are looked up first in the user's folder (``--templates DIR`` or
``$OUTREACH_TEMPLATES``), then in the ``letters/`` folder shipped with
outreach. A campaign names a template such as ``third-pillar``; the files are

* ``third-pillar.md.j2``      the default language (the campaign's, usually English)
* ``third-pillar.fr.md.j2``   the French variant, and so on for each language.

A letter uses the contact's preferred language, else the organization's first
working language that has a variant, else the campaign's default language.

The subject line is the template's ``{% block subject %}``. Templates run in
Jinja's immutable sandbox with ``StrictUndefined``: an unknown variable, a
syntax error or an attempt to reach Python internals raises
:class:`TemplateError` naming the template, the line and the recipient.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from outreach.errors import OutreachError
from outreach.resources import letters_path

ENV_TEMPLATES = "OUTREACH_TEMPLATES"
#: Suffix of the Markdown letter templates.
SUFFIX = ".md.j2"
#: Names the context reserves; campaign variables may not reuse them.
RESERVED = frozenset(
    {"organization", "contact", "campaign", "dialogue", "sender", "today", "language", "vars"}
)
#: Sender keys every template may use (missing ones are empty).
SENDER_KEYS = (
    "name",
    "organization",
    "email",
    "address",
    "phone",
    "website",
    "signatory",
    "signatory_title",
)
#: Right-to-left languages.
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "yi", "dv", "ku"})

_LANG_RE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")


class TemplateError(OutreachError):
    """A template could not be loaded or rendered."""

    def __init__(
        self,
        message: str,
        *,
        template: str | None = None,
        line: int | None = None,
        recipient: str | None = None,
    ) -> None:
        where = template or "template"
        if line:
            where += f", line {line}"
        text = f"{where}: {message}"
        if recipient:
            text += f" (while writing to {recipient})"
        text += "; nothing was written"
        super().__init__(text)
        self.template = template
        self.line = line
        self.recipient = recipient


def is_rtl(language: str | None) -> bool:
    return bool(language) and language.split("-")[0].split("_")[0].lower() in RTL_LANGUAGES


def template_dirs(templates: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for templates, first match wins."""
    dirs: list[Path] = []
    user = templates if templates is not None else os.environ.get(ENV_TEMPLATES) or None
    if user is not None:
        path = Path(user).expanduser()
        if not path.is_dir():
            raise TemplateError(f"template folder {path} does not exist", template=str(path))
        dirs.append(path.resolve())
    dirs.append(letters_path())
    return dirs


# --- filters ------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _babel_locale(language: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@functools.lru_cache(maxsize=4096)
def format_date(value: dt.date, language: str, fmt: str = "long") -> str:
    """*value* written out in *language* (Babel/CLDR), e.g. ``12 juillet 2012``."""
    from babel.dates import format_date as babel_format_date

    if isinstance(value, dt.datetime):
        value = value.date()
    return babel_format_date(value, format=fmt, locale=_babel_locale(language))


_DATE_TEXT: dict[tuple[Any, str, str], str] = {}


@jinja2.pass_context
def _date_filter(context: Any, value: Any, fmt: str = "long", language: str | None = None) -> str:
    lang = language or context.parent.get("language") or "en"
    key = (value, lang, fmt)
    try:
        return _DATE_TEXT[key]  # the same few dates recur in every letter
    except (KeyError, TypeError):
        pass
    text = _date_text(value, lang, fmt)
    if len(_DATE_TEXT) < 10_000:
        _DATE_TEXT[key] = text
    return text


def _date_text(value: Any, language: str, fmt: str) -> str:
    if value is None or isinstance(value, jinja2.Undefined):
        raise jinja2.UndefinedError("format_date was given no date")
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise jinja2.TemplateRuntimeError(
                f"format_date: {value!r} is not a date (use YYYY-MM-DD)"
            ) from None
    if not isinstance(value, dt.date):
        raise jinja2.TemplateRuntimeError(f"format_date: {value!r} is not a date")
    return format_date(value, language, fmt)


#: Formal openings when the contact has no salutation of their own.
_OFFICE_SALUTATION = {
    "en": "Dear Sir or Madam",
    "fr": "Madame, Monsieur",
    "es": "Distinguida señora, distinguido señor",
    "pt": "Excelentíssimos Senhores",
    "ar": "السيدات والسادة المحترمون",
}
_PERSON_SALUTATION = {
    "en": "Dear {name}",
    "fr": "Madame, Monsieur",
    "es": "Estimado/a {name}",
    "pt": "Prezado/a {name}",
    "ar": "حضرة {name} المحترم",
}
_SALUTATION_END = {"en": ",", "fr": ",", "es": ":", "pt": ",", "ar": "،"}


def salutation(contact: Mapping[str, Any] | None, language: str = "en") -> str:
    """The formal opening for *contact* in *language*, with its punctuation:
    the contact's own salutation when set, else a courteous default."""
    lang = (language or "en").split("-")[0].lower()
    end = _SALUTATION_END.get(lang, ",")
    own = (contact or {}).get("salutation") if contact else None
    if own:
        text = str(own).strip()
    else:
        name = (contact or {}).get("name") if contact else None
        if (contact or {}).get("kind") == "office" or not name:
            text = _OFFICE_SALUTATION.get(lang, _OFFICE_SALUTATION["en"])
        else:
            text = _PERSON_SALUTATION.get(lang, _PERSON_SALUTATION["en"]).format(name=name)
    if text and text[-1] in ",:;،!.":
        return text
    return text + end


@jinja2.pass_context
def _salutation_filter(context: Any, contact: Any, language: str | None = None) -> str:
    if not language:
        # context.get("language"), without its three calls per letter
        local = context.vars
        language = local["language"] if "language" in local else context.parent.get("language")
    return salutation(contact, language or "en")


# --- the environment -----------------------------------------------------------


def _autoescape(name: str | None) -> bool:
    return bool(name) and name.endswith((".html.j2", ".htm.j2", ".xml.j2", ".html", ".htm"))


class _FolderLoader(jinja2.FileSystemLoader):
    """Reads templates from its folders only: a symbolic link that leads out of
    them (to /etc/passwd, say) is refused."""

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(filename).resolve()
        if not any(real.is_relative_to(Path(d).resolve()) for d in self.searchpath):
            raise TemplateError("leads outside the template folders; refused", template=template)
        return source, filename, uptodate


def make_environment(dirs: Iterable[Path]) -> ImmutableSandboxedEnvironment:
    env = LetterSandbox(
        loader=_FolderLoader([str(d) for d in dirs], encoding="utf-8"),
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["format_date"] = _date_filter
    env.filters["salutation"] = _salutation_filter
    return env


@dataclass
class CompiledTemplate:
    """One template in one language, compiled once, with its content hash."""

    name: str
    language: str
    filename: str
    template: jinja2.Template
    #: SHA-256 over the sources of every template it uses (extends, include, import).
    hash: str
    sources: list[str] = field(default_factory=list)
    #: True when the subject block uses no variables: it is rendered once.
    static_subject: bool = False
    subject: str | None = None


class Rendered(NamedTuple):
    """A rendered letter (a named tuple: made once per letter, so kept cheap)."""

    subject: str
    body: str


class TemplateSet:
    """Templates found in the user's folder and the shipped ``letters/``."""

    def __init__(self, templates: str | os.PathLike[str] | None = None) -> None:
        self.dirs = template_dirs(templates)
        self.env = make_environment(self.dirs)
        self._compiled: dict[tuple[str, str], CompiledTemplate] = {}
        self._exists: dict[str, bool] = {}
        self._sources: dict[str, str] = {}
        self._parsed: dict[str, nodes.Template] = {}

    # -- discovery --------------------------------------------------------------

    def exists(self, filename: str) -> bool:
        if filename not in self._exists:
            self._exists[filename] = any((d / filename).is_file() for d in self.dirs)
        return self._exists[filename]

    @staticmethod
    def filename(name: str, language: str | None = None) -> str:
        return f"{name}.{language}{SUFFIX}" if language else f"{name}{SUFFIX}"

    def check_name(self, name: str) -> None:
        """Refuse a template name that is missing or not a plain name."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise TemplateError(f"{name!r} is not a template name (e.g. third-pillar)")
        if not self.exists(self.filename(name)):
            where = ", ".join(str(d) for d in self.dirs)
            raise TemplateError(
                f"no template {self.filename(name)} in {where}; "
                "check the name or pass --templates DIR",
                template=name,
            )

    def variants(self, name: str) -> list[str]:
        """Languages with a ``NAME.LANG.md.j2`` variant."""
        found: set[str] = set()
        prefix = name + "."
        for d in self.dirs:
            for path in d.glob(f"{glob_escape(name)}.*{SUFFIX}"):
                middle = path.name[len(prefix) : -len(SUFFIX)]
                if _LANG_RE.match(middle):
                    found.add(middle)
        return sorted(found)

    def choose_language(
        self,
        name: str,
        *,
        default: str,
        contact_language: str | None,
        org_languages: Iterable[str] | None,
    ) -> str:
        """The contact's language, else the organization's first working
        language with a variant, else *default*."""
        for lang in [contact_language, *(org_languages or [])]:
            if not lang:
                continue
            lang = lang.strip()
            if lang == default or self.exists(self.filename(name, lang)):
                return lang
        return default

    # -- compiling --------------------------------------------------------------

    def compile(self, name: str, language: str, default: str) -> CompiledTemplate:
        key = (name, language)
        if key in self._compiled:
            return self._compiled[key]
        filename = self.filename(name) if language == default else self.filename(name, language)
        if not self.exists(filename):
            filename = self.filename(name)
        template = self._load(filename)
        used = self._closure(filename)
        digest = hashlib.sha256()
        for used_name in sorted(used):
            source = self._source(used_name)
            digest.update(used_name.encode())
            digest.update(b"\0")
            digest.update(source.encode("utf-8"))
            digest.update(b"\0")
        compiled = CompiledTemplate(
            name=name,
            language=language,
            filename=filename,
            template=template,
            hash=digest.hexdigest(),
            sources=sorted(used),
            static_subject=self._subject_is_static(filename),
        )
        self._compiled[key] = compiled
        return compiled

    def _source(self, filename: str) -> str:
        found = self._sources.get(filename)
        if found is not None:
            return found
        try:
            source, _path, _up = self.env.loader.get_source(self.env, filename)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            raise TemplateError("template not found", template=filename) from None
        self._sources[filename] = source
        return source

    def _parse(self, filename: str) -> nodes.Template:
        """The syntax tree of *filename*, parsed once (the checks below share it)."""
        found = self._parsed.get(filename)
        if found is None:
            try:
                found = self.env.parse(self._source(filename), filename)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(
                    f"syntax error: {exc.message}", template=filename, line=exc.lineno
                ) from None
            self._parsed[filename] = found
        return found

    def _load(self, filename: str) -> jinja2.Template:
        try:
            return self.env.get_template(filename)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"syntax error: {exc.message}", template=exc.name or filename, line=exc.lineno
            ) from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(
                f"uses template {exc.name!r}, which does not exist", template=filename
            ) from None

    def _subject_is_static(self, filename: str) -> bool:
        """Whether the subject block (wherever it is defined) uses no variables."""
        current: str | None = filename
        seen = set()
        while current and current not in seen:
            seen.add(current)
            ast = self._parse(current)
            for block in ast.find_all(nodes.Block):
                if block.name == "subject":
                    return next(block.find_all(nodes.Name), None) is None
            extends = next(ast.find_all(nodes.Extends), None)
            if extends is None or not isinstance(extends.template, nodes.Const):
                return False
            current = extends.template.value
        return False

    def _closure(self, filename: str) -> set[str]:
        """Every template *filename* pulls in, itself included."""
        seen: set[str] = set()
        todo = [filename]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            ast = self._parse(current)
            refs = list(meta.find_referenced_templates(ast))
            if any(ref is None for ref in refs):
                # A computed name: hash every template we can see, to be safe.
                for name in self.env.list_templates(filter_func=lambda n: n.endswith(".j2")):
                    if name not in seen:
                        todo.append(name)
            for ref in refs:
                if ref is not None:
                    self._load(ref)  # a missing or broken parent fails here, early
                    todo.append(ref)
        return seen

    # -- rendering --------------------------------------------------------------

    def render(
        self, compiled: CompiledTemplate, context: Mapping[str, Any], *, recipient: str
    ) -> Rendered:
        return render(compiled, context, recipient=recipient)


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _error_line(exc: BaseException, compiled: CompiledTemplate) -> tuple[str, int | None]:
    """The template file and line an exception was raised from (the innermost)."""
    tb = exc.__traceback__
    found: tuple[str, int | None] = (compiled.filename, None)
    while tb is not None:
        frame = tb.tb_frame
        filename = frame.f_code.co_filename
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            found = (template.name or filename, template.get_corresponding_lineno(tb.tb_lineno))
        elif filename.endswith(".j2"):
            # a frame Jinja rewrote to point at the template source
            found = (os.path.basename(filename), tb.tb_lineno)
        tb = tb.tb_next
    return found


def _explain(exc: BaseException) -> str:
    if isinstance(exc, SecurityError):
        return f"refused by the sandbox: {exc}"
    if isinstance(exc, jinja2.UndefinedError):
        return f"unknown variable: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def render(
    compiled: CompiledTemplate,
    context: Mapping[str, Any],
    *,
    recipient: str | Callable[[], str],
) -> Rendered:
    """Render *compiled* with *context*: the whole letter and its subject block.

    *recipient* names who the letter is for in error messages (a callable is
    only called when there is an error)."""
    template = compiled.template
    try:
        if "range" in context:  # already holds the environment's globals
            # What Template.new_context(context, shared=True) makes, without
            # listing the globals' names for each letter (they only matter to
            # templates imported without context, which get their own).
            env = template.environment
            ctx = env.context_class(env, context, template.name, template.blocks)  # type: ignore[arg-type]
        else:
            ctx = template.new_context(context)
        body = "".join(template.root_render_func(ctx))
        subject = compiled.subject
        if subject is None:
            # the most derived subject block, registered while rendering the body
            funcs = ctx.blocks.get("subject")
            subject = " ".join("".join(funcs[0](ctx)).split()) if funcs else ""
            if compiled.static_subject:
                compiled.subject = subject
    except (
        jinja2.TemplateError,
        SecurityError,
        ArithmeticError,
        TypeError,
        ValueError,
        RecursionError,  # a macro that calls itself
        LookupError,  # e.g. {{ self|list }}
        AttributeError,
    ) as exc:
        name, line = _error_line(exc, compiled)
        who = recipient if isinstance(recipient, str) else recipient()
        raise TemplateError(_explain(exc), template=name, line=line, recipient=who) from None
    if not subject:
        raise TemplateError(
            "the subject is empty: add {% block subject %}...{% endblock %}",
            template=compiled.filename,
            recipient=recipient if isinstance(recipient, str) else recipient(),
        )
    return Rendered(subject=subject, body=_tidy(body))


class Record(dict):  # type: ignore[type-arg]
    """The data handed to templates (organization, contact, sender, ...).

    ``organization.name`` reads the key directly: the sandbox never has to
    try, and refuse, a Python attribute first. Keys hold data only, so this
    opens nothing; anything that is not a key goes through the sandbox's
    checks as usual.
    """

    __slots__ = ()


#: Largest string, list or number a template may build with ``*`` or ``**``:
#: a letter never needs more, and ``{{ 'a' * 10**9 }}`` must not hang a batch.
MAX_PRODUCT = 100_000


def _power_too_large(base: float, exponent: float) -> bool:
    if abs(exponent) > 64:
        return True
    return abs(base) > 1 and abs(exponent) * len(str(int(abs(base)))) > 64


class LetterSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with a fast path for :class:`Record` keys and
    limits on ``*`` and ``**`` so a template cannot exhaust memory or time."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        if operator == "**" and numbers and _power_too_large(left, right):
            raise SecurityError(f"{left!r} ** {right!r} is too large for a letter")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(n, int)
                    and len(seq) * n > MAX_PRODUCT
                ):
                    raise SecurityError(
                        "a repeated text or list that large has no place in a letter"
                    )
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > 256
            ):
                raise SecurityError("a number that large has no place in a letter")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is Record:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


_BLANKS = re.compile(r"\n{3,}")


def _tidy(body: str) -> str:
    """Trim trailing spaces and runs of blank lines left by template logic."""
    if (
        len(body) > 1
        and body[0] != "\n"
        and body[-1] == "\n"
        and not body[-2].isspace()
        and " \n" not in body
        and not ("\t" in body and "\t\n" in body)
        and "\n\n\n" not in body
    ):
        return body  # already tidy (the usual case): no copies
    body = body.strip("\n")
    if " \n" in body or ("\t" in body and "\t\n" in body):  # a tab is rare: look for it first
        body = "\n".join(line.rstrip() for line in body.split("\n"))
    if "\n\n\n" in body:
        body = _BLANKS.sub("\n\n", body)
    return body.rstrip() + "\n"


def sender_context(sender: Mapping[str, Any] | None, signatory: str | None) -> Record:
    out = Record.fromkeys(SENDER_KEYS)
    out.update(sender or {})
    if signatory and not out.get("signatory"):
        out["signatory"] = signatory
    return out


ContextBuilder = Callable[..., dict[str, Any]]
