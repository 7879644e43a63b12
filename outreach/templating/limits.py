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
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Namespace

from outreach.errors import ConfigurationError, OutreachError
from outreach.resources import letters_path
from outreach.safetext import text_problem

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
#: Languages written right to left: Arabic script (Arabic, Central Kurdish
#: (Sorani), Persian, Pashto, Sindhi, Uyghur, Urdu), Hebrew script (Hebrew,
#: Yiddish), Aramaic and Dhivehi (Thaana). The one table, for e-mail and
#: documents alike. Not ``ku``: Kurdish without a script is Kurmanji, written
#: in Latin letters (CLDR); Sorani is ``ckb``, and ``ku-Arab`` is right to left
#: by its script (:data:`RTL_SCRIPTS`).
RTL_LANGUAGES = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "ps", "sd", "ug", "ur", "yi"})
#: Scripts written right to left (ISO 15924), for a tag that names its script
#: (``ku-Arab``, ``pa-Arab``); a tag naming another script (``sd-Deva``) is
#: left to right.
RTL_SCRIPTS = frozenset({"adlm", "arab", "hebr", "nkoo", "rohg", "syrc", "thaa"})

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
    """Whether a letter in *language* (a BCP 47 tag such as ``ar``, ``ckb``,
    ``ku-Arab``; ``_`` taken for ``-``) is written right to left."""
    if not language:
        return False
    primary, *rest = language.replace("_", "-").lower().split("-")
    for subtag in rest:
        if len(subtag) == 4 and subtag.isalpha():  # the script, if the tag names one
            return subtag in RTL_SCRIPTS
    return primary in RTL_LANGUAGES


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
    kind = type(value)
    if kind is not dt.date and kind is not str:
        # a datetime is kept out: two in different time zones compare equal
        # when they are the same instant, yet fall on different dates
        return _date_text(value, lang, fmt)
    key = (kind, value, lang, fmt)
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
    if isinstance(value, dt.datetime):
        # its own date, before the cache below (equal instants, other dates)
        value = value.date()
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


def make_environment(
    dirs: Iterable[Path], limits: RenderLimits | None = None
) -> ImmutableSandboxedEnvironment:
    env = LetterSandbox(
        limits=limits,
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


class Rendered(NamedTuple):
    """A rendered letter (a named tuple: made once per letter, so kept cheap)."""

    subject: str
    body: str


class TemplateSet:
    """Templates found in the user's folder and the shipped ``letters/``."""

    def __init__(
        self,
        templates: str | os.PathLike[str] | None = None,
        *,
        limits: RenderLimits | None = None,
    ) -> None:
        self.dirs = template_dirs(templates)
        #: Each letter's time and size limits (by default from the environment).
        self.limits = limits or RenderLimits.from_env()
        self.env = make_environment(self.dirs, self.limits)
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
    if isinstance(exc, LimitExceeded):
        return str(exc)
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
    limits = getattr(template.environment, "limits", None) or RenderLimits()
    outer = getattr(_STATE, "budget", None)
    _STATE.budget = budget = _Budget(limits)  # this letter's time and size limits
    try:
        if "range" in context:  # already holds the environment's globals
            # What Template.new_context(context, shared=True) makes, without
            # listing the globals' names for each letter (they only matter to
            # templates imported without context, which get their own).
            env = template.environment
            ctx = env.context_class(env, context, template.name, template.blocks)  # type: ignore[arg-type]
        else:
            ctx = template.new_context(context)
        body = _joined(template.root_render_func(ctx), budget, "the letter")
        # The most derived subject block, registered while rendering the body,
        # rendered again for every letter: never reused from another letter
        # (an include, import, macro, nested block or super() in it may read
        # the recipient's data even when it names no variable).
        funcs = ctx.blocks.get("subject")
        subject = " ".join(_joined(funcs[0](ctx), budget, "the subject").split()) if funcs else ""
    except (
        jinja2.TemplateError,
        SecurityError,
        ArithmeticError,
        TypeError,
        ValueError,
        RecursionError,  # a macro that calls itself
        LookupError,  # e.g. {{ self|list }}
        AttributeError,
        MemoryError,  # a last resort: the limits should have stopped it first
    ) as exc:
        name, line = _error_line(exc, compiled)
        who = recipient if isinstance(recipient, str) else recipient()
        raise TemplateError(_explain(exc), template=name, line=line, recipient=who) from None
    finally:
        _STATE.budget = outer
    if not subject:
        raise TemplateError(
            "the subject is empty: add {% block subject %}...{% endblock %}",
            template=compiled.filename,
            recipient=recipient if isinstance(recipient, str) else recipient(),
        )
    problem = text_problem(subject, multiline=True)
    if problem is not None:
        # an e-mail header and a file's title: no control characters
        raise TemplateError(
            f"the subject {problem}",
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


# --- limits: time and size --------------------------------------------------------
#
# A template is user code: it must not hang a batch or exhaust the machine.
# Each letter gets a deadline and a size limit (characters) that every string,
# list or mapping it builds, and the letter itself, must stay within; and all
# the text it builds along the way, counted together, stays within
# WORK_FACTOR times that. The checks sit where a template can make something
# large or spend time: the sandbox's calls and operators, every built-in
# filter, ``~``, list, tuple and dict displays, every loop round (a loop's
# iterable is wrapped by the code generator below) and every joined output.

ENV_MAX_SIZE = "OUTREACH_LETTER_MAX_SIZE"
ENV_TIMEOUT = "OUTREACH_LETTER_TIMEOUT"
#: Default largest letter, or text in it, in characters (about 1 MB).
DEFAULT_MAX_SIZE = 1_000_000
#: Default time one letter may take to render, in seconds.
DEFAULT_TIMEOUT = 5.0
#: All the text one letter may build, counting intermediate results, as a
#: multiple of the size limit.
WORK_FACTOR = 100

_SIZE_RE = re.compile(r"^\s*(\d[\d_]*)\s*([kKmM]?)[bB]?\s*$")


@dataclass(frozen=True)
class RenderLimits:
    """How large (characters) and how long (seconds) one letter may get."""

    max_size: int = DEFAULT_MAX_SIZE
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RenderLimits:
        """The limits set by ``$OUTREACH_LETTER_MAX_SIZE`` (characters; ``2M``
        or ``500k`` also do) and ``$OUTREACH_LETTER_TIMEOUT`` (seconds), else
        the defaults."""
        env = os.environ if environ is None else environ
        max_size, timeout = DEFAULT_MAX_SIZE, DEFAULT_TIMEOUT
        raw = (env.get(ENV_MAX_SIZE) or "").strip()
        if raw:
            found = _SIZE_RE.match(raw)
            if not found or int(found.group(1)) <= 0:
                raise ConfigurationError(
                    f"{ENV_MAX_SIZE}={raw!r} is not a size: give a number of characters "
                    "such as 2000000 or 2M"
                )
            scale = {"": 1, "k": 1_000, "m": 1_000_000}[found.group(2).lower()]
            max_size = int(found.group(1)) * scale
        raw = (env.get(ENV_TIMEOUT) or "").strip()
        if raw:
            try:
                timeout = float(raw)
            except ValueError:
                timeout = -1.0
            if not timeout > 0 or timeout == float("inf"):
                raise ConfigurationError(
                    f"{ENV_TIMEOUT}={raw!r} is not a time: give a number of seconds such as 10"
                )
        return cls(max_size=max_size, timeout=timeout)


class LimitExceeded(SecurityError):
    """A letter went over its time or size limit."""


class _Budget:
    """One letter's limits while it renders: its deadline, its size limit,
    the text it may still build and the loop rounds it may still run."""

    __slots__ = ("deadline", "full", "limits", "max_size", "rounds", "work")

    def __init__(self, limits: RenderLimits, *, timed: bool = True) -> None:
        self.limits = limits
        self.max_size = limits.max_size
        self.deadline = time.monotonic() + limits.timeout if timed else float("inf")
        self.work = self.full = limits.max_size * WORK_FACTOR
        self.rounds = limits.max_size  # no letter needs more loop rounds than characters

    def spent(self) -> bool:
        """Whether the letter has computed anything the budget counts."""
        return self.work != self.full or self.rounds != self.max_size

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(
                f"the letter took more than {self.limits.timeout:g} s to write and was "
                "stopped (a loop or a recursion too large?); "
                f"set {ENV_TIMEOUT} to allow longer"
            )

    def too_large(self, what: str = "a text") -> LimitExceeded:
        return LimitExceeded(
            f"{what} would be longer than {self.max_size:,} characters, more than a letter "
            f"needs; set {ENV_MAX_SIZE} to allow more"
        )

    def check(self, size: int, what: str = "a text") -> None:
        if size > self.max_size:
            raise self.too_large(what)

    def charge(self, value: Any) -> Any:
        """*value*, once its size is checked and counted against the work."""
        size = len(value) if type(value) is str else _size(value, self.max_size)
        if size > self.max_size:
            raise self.too_large()
        self.work -= size
        if self.work < 0:
            raise LimitExceeded(
                f"the template builds more than {self.max_size * WORK_FACTOR:,} characters "
                "of text for one letter (a loop too large?); "
                f"set {ENV_MAX_SIZE} to allow more"
            )
        return value


_STATE = threading.local()
#: The limits outside render() (a template loaded, say): sizes only.
_IDLE = _Budget(RenderLimits(), timed=False)


def _budget() -> _Budget:
    found = getattr(_STATE, "budget", None)
    return found if found is not None else _IDLE


def _size(value: Any, limit: int) -> int:
    """About how many characters *value* takes written out, counted only up to
    just past *limit* (a list holding one long text many times is as large as
    it would print)."""
    if isinstance(value, str | bytes | bytearray):
        return len(value)
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes | bytearray):
            total += len(item) + 2
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, dict):
            total += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset | range):
            total += 2 + len(item)
            if not isinstance(item, range):
                stack.extend(item)
        elif isinstance(item, Namespace):
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        else:
            total += 8
        if total > limit:
            return total
    return total


def _checked_concat(pieces: Iterable[str]) -> str:
    """``"".join(pieces)`` once their total length is known to be within the
    letter's size limit (every output, macro, block and ``{% set %}`` block
    is joined here)."""
    if type(pieces) is not list:
        pieces = list(pieces)
    budget = _budget()
    if sum(map(len, pieces)) > budget.max_size:
        raise budget.too_large("a part of the letter")
    return "".join(pieces)


def _joined(pieces: Iterable[str], budget: _Budget, what: str) -> str:
    """A letter's (or its subject's) pieces, joined, within the size limit.

    The pieces of a template that computed nothing (no filter, call,
    operator, ``~`` or loop round: what the budget would have counted) are
    its own text and the recipient's data, so they are joined at once; any
    other letter's are measured first."""
    parts = list(pieces)
    if (
        budget.work != budget.full or budget.rounds != budget.max_size or len(parts) > 1024
    ) and sum(map(len, parts)) > budget.max_size:
        raise budget.too_large(what)
    text = "".join(parts)
    if len(text) > budget.max_size:
        raise budget.too_large(what)
    return text


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)


def _check_format(budget: _Budget, fmt: str, values: Iterable[Any], *, percent: bool) -> None:
    """Refuse a ``%`` or ``str.format`` formatting whose widths, precisions or
    repeated fields would make a text over the size limit."""
    values = list(values)
    limit = budget.max_size
    largest = max((_size(v, limit) for v in values), default=0)
    widths = 0
    fields = 0
    starred = False
    if percent:
        for width, precision, _kind in _PERCENT_SPEC.findall(fmt):
            fields += 1
            for part in (width, precision):
                if part == "*":
                    starred = True
                elif part:
                    widths += int(part)
    else:
        try:
            parsed = list(string.Formatter().parse(fmt))
        except ValueError:
            return  # malformed: formatting it fails the same way
        for _text, name, spec, _conversion in parsed:
            if name is None:
                continue
            fields += 1
            if "{" in (spec or ""):
                starred = True
            widths += sum(int(d) for d in re.findall(r"\d+", re.sub(r"\{[^{}]*\}", "", spec or "")))
    if starred:  # a width taken from the values: each of them may be one
        widths += sum(v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0)
    budget.check(len(fmt) + widths + fields * largest)


def _check_replace(budget: _Budget, text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        count = len(text) + 1 if not old else text.count(old)
        budget.check(len(text) + count * max(len(new) - len(old), 0))


def _check_join(budget: _Budget, items: list[Any], sep: Any) -> None:
    limit = budget.max_size
    total = len(sep) * max(len(items) - 1, 0) if isinstance(sep, str) else 0
    for item in items:
        total += _size(item, limit)
        if total > limit:
            raise budget.too_large()


def _argument(args: Any, kwargs: Mapping[str, Any], i: int, name: str, default: Any) -> Any:
    """Argument *i* (counting after the value) of a call, or its keyword *name*."""
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default)


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


#: Filters whose result is as large as their whole value, written out.
_WHOLE_FILTERS = frozenset(
    {"truncate", "string", "pprint", "tojson", "urlize", "striptags", "xmlattr"}
)


def _precheck_filter(name: str, budget: _Budget, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Refuse a built-in filter call that would make something over the size
    limit out of small arguments (``center(10**9)``); a lazy sequence the
    filter would read whole is read here first (and handed on as a list)."""
    limit = budget.max_size
    if name == "center":
        budget.check(_as_int(_argument(args, kwargs, 1, "width", 80)))
    elif name == "indent":
        text = str(args[0]) if args else ""
        width = _argument(args, kwargs, 1, "width", 4)
        step = len(width) if isinstance(width, str) else _as_int(width)
        budget.check(len(text) + (text.count("\n") + 1) * max(step, 0))
    elif name == "format":
        if args and isinstance(args[0], str):
            budget.check(len(args[0]))
            _check_format(budget, args[0], [*args[1:], *kwargs.values()], percent=True)
    elif name == "replace" and len(args) >= 3:
        _check_replace(budget, str(args[0]) if args[0] is not None else "", args[1], args[2])
    elif name == "wordwrap" and args:
        text = str(args[0])
        wrap = _argument(args, kwargs, 3, "wrapstring", None)
        budget.check(len(text) * (1 + (len(wrap) if isinstance(wrap, str) else 2)))
    elif name == "join" and args:
        if not isinstance(args[0], list | tuple | str):
            args[0] = list(args[0])
        sep = _argument(args, kwargs, 1, "d", "")
        if isinstance(args[0], list | tuple):
            _check_join(budget, list(args[0]), sep)
    elif name in ("batch", "slice"):
        keyword = "linecount" if name == "batch" else "slices"
        count = _as_int(_argument(args, kwargs, 1, keyword, 1))
        fill = _argument(args, kwargs, 2, "fill_with", None)
        if count > MAX_PRODUCT:
            raise budget.too_large("a list")
        if fill is not None:
            budget.check(count * (1 + _size(fill, limit)), "a list")
    elif name == "sum" and args:
        if not isinstance(args[0], list | tuple):
            args[0] = list(args[0])
        start = _argument(args, kwargs, 2, "start", 0)
        items = args[0]
        if not isinstance(start, int | float) or any(not isinstance(i, int | float) for i in items):
            total = _size(start, limit) + sum(_size(i, limit) for i in items)
            budget.check(total, "a sum")
            # adding sequences one by one copies the result each time
            budget.check(len(items) * total // WORK_FACTOR, "a sum")
    elif name in _WHOLE_FILTERS and args:
        budget.check(_size(args[0], limit))


def _checked_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """*func* (a built-in filter) with the letter's deadline and size checks."""
    from jinja2.utils import _PassArg

    skip = 1 if _PassArg.from_obj(func) is not None else 0

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        rest = list(args[skip:])
        _precheck_filter(name, budget, rest, kwargs)
        return budget.charge(func(*args[:skip], *rest, **kwargs))

    return checked


def _checked_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> Any:
    from jinja2.utils import generate_lorem_ipsum

    budget = _budget()
    budget.tick()
    budget.check(_as_int(n) * _as_int(max) * 12, "lorem ipsum")
    return budget.charge(generate_lorem_ipsum(n=n, html=html, min=min, max=max))


#: str (and bytes) methods that can make a long text out of short arguments.
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def _precheck_method(
    budget: _Budget, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    name = getattr(obj, "__name__", None)
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, str | bytes | bytearray):
        if name in _WIDTH_METHODS:
            budget.check(_as_int(_argument(args, kwargs, 0, "width", 0)))
        elif name == "expandtabs":
            size = _as_int(_argument(args, kwargs, 0, "tabsize", 8))
            budget.check(len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t") * size)
        elif name == "replace" and len(args) >= 2:
            if isinstance(owner, str):
                _check_replace(budget, owner, args[0], args[1])
            elif isinstance(args[0], bytes | bytearray) and isinstance(args[1], bytes | bytearray):
                count = len(owner) + 1 if not args[0] else owner.count(args[0])
                budget.check(len(owner) + count * max(len(args[1]) - len(args[0]), 0))
        elif name == "join" and args:
            items = list(args[0])
            _check_join(budget, items, owner if isinstance(owner, str) else "")
            return (items, *args[1:])
        elif name == "translate" and args:
            table = args[0]
            longest = (
                max((_size(v, budget.max_size) for v in table.values()), default=1)
                if isinstance(table, dict)
                else 1
            )
            budget.check(len(owner) * max(longest, 1))
    elif isinstance(owner, int) and name == "to_bytes":
        budget.check(_as_int(_argument(args, kwargs, 0, "length", 1)), "a byte string")
    return args


class _LetterTemplate(jinja2.Template):
    """A template whose imported module is made afresh for every letter:
    Jinja keeps the module of a template imported without context and hands
    the same one to the next render, so a namespace or cycler in it would
    carry one recipient's data into the next one's letter."""

    def _get_default_module(self, ctx: Any = None) -> Any:
        if ctx is not None:
            keys = ctx.globals_keys - self.globals.keys()
            if keys:
                return self.make_module({k: ctx.parent[k] for k in keys})
        return self.make_module()


class _LetterCodeGenerator(CodeGenerator):
    """Jinja's code generator, with the sandbox's checks on every loop round,
    ``~`` and list, tuple and dict display."""

    _loop_iters: tuple[nodes.Node, ...] = ()

    def visit_For(self, node: nodes.For, frame: Any) -> None:
        outer = self._loop_iters
        self._loop_iters = (*outer, node.iter)
        try:
            super().visit_For(node, frame)
        finally:
            self._loop_iters = outer

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if any(node is it for it in self._loop_iters):  # a loop's iterable
            self.write("environment.letter_loop(")
            super().visit(node, *args, **kwargs)
            self.write(")")
            return None
        return super().visit(node, *args, **kwargs)

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        if frame.eval_ctx.volatile:
            func_name = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            func_name = "markup_join"
        else:
            func_name = "str_join"
        self.write(f"environment.letter_concat({func_name}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def _checked_display(self, visit: Callable[..., None], node: Any, frame: Any) -> None:
        self.write("environment.letter_display(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Any) -> None:
        self._checked_display(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Any) -> None:
        self._checked_display(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Any) -> None:
        if node.ctx != "load":  # an assignment target
            super().visit_Tuple(node, frame)
        else:
            self._checked_display(super().visit_Tuple, node, frame)


def _rounds(iterable: Any, budget: _Budget) -> Iterator[Any]:
    for item in iterable:
        budget.rounds -= 1
        if not budget.rounds & 255:
            budget.tick()
            if budget.rounds < 0:
                raise LimitExceeded(
                    f"the template's loops ran more than {budget.max_size:,} rounds for one "
                    f"letter; set {ENV_MAX_SIZE} to allow more"
                )
        yield item


class LetterSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with a fast path for :class:`Record` keys and
    time and size limits (see :class:`RenderLimits`) so that a template
    cannot exhaust memory or time."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])
    template_class = _LetterTemplate
    code_generator_class = _LetterCodeGenerator
    concat = staticmethod(_checked_concat)

    def __init__(self, *args: Any, limits: RenderLimits | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits or RenderLimits()
        for name, func in list(self.filters.items()):
            self.filters[name] = _checked_filter(name, func)
        self.globals["lipsum"] = _checked_lipsum

    # -- hooks called by the generated code ---------------------------------------

    def letter_loop(self, iterable: Any) -> Iterator[Any]:
        budget = _budget()
        budget.tick()
        return _rounds(iterable, budget)

    def letter_concat(self, join: Callable[[Any], str], values: tuple[Any, ...]) -> str:
        budget = _budget()
        limit = budget.max_size
        total = 0
        for value in values:
            total += len(value) if type(value) is str else _size(value, limit)
        budget.check(total)
        return budget.charge(join(values))

    def letter_display(self, value: Any) -> Any:
        return _budget().charge(value)

    # -- the sandbox's own hooks --------------------------------------------------

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        args = _precheck_method(budget, __obj, args, kwargs)
        return budget.charge(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__
        mapping = value.__name__ == "format_map"

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            budget = _budget()
            values = (
                list(args[0].values())
                if mapping and args and isinstance(args[0], Mapping)
                else [*args, *kwargs.values()]
            )
            _check_format(budget, fmt, values, percent=False)
            return budget.charge(wrapped(*args, **kwargs))

        return checked

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        if operator == "+":
            if numbers:
                if (
                    isinstance(left, int)
                    and isinstance(right, int)
                    and max(left.bit_length(), right.bit_length()) > 4096
                ):
                    raise SecurityError("a number that large has no place in a letter")
                return left + right
            limit = budget.max_size
            budget.check(_size(left, limit) + _size(right, limit))
            return budget.charge(super().call_binop(context, operator, left, right))
        if operator == "%":
            if isinstance(left, str):
                values = (
                    right
                    if isinstance(right, tuple)
                    else (right.values() if isinstance(right, Mapping) else (right,))
                )
                _check_format(budget, left, values, percent=True)
                return budget.charge(super().call_binop(context, operator, left, right))
            return super().call_binop(context, operator, left, right)
        if operator == "**" and numbers and _power_too_large(left, right):
            raise SecurityError(f"{left!r} ** {right!r} is too large for a letter")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int):
                    if len(seq) * n > MAX_PRODUCT:
                        raise SecurityError(
                            "a repeated text or list that large has no place in a letter"
                        )
                    if n > 0:
                        budget.check(_size(seq, budget.max_size) * n)
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > 256
            ):
                raise SecurityError("a number that large has no place in a letter")
            if not numbers:
                return budget.charge(super().call_binop(context, operator, left, right))
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
