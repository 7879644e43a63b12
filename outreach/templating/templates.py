"""A template set: finding a template and its language variants, compiling
each once with a hash of its sources, and rendering one letter within its
limits."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SecurityError

from outreach.resources import letters_path
from outreach.safetext import for_terminal, text_problem
from outreach.templating.errors import TemplateError, _error_line, _explain
from outreach.templating.limits import _STATE, RenderLimits, _Budget, _joined
from outreach.templating.sandbox import make_environment

ENV_TEMPLATES = "OUTREACH_TEMPLATES"
#: Suffix of the Markdown letter templates.
SUFFIX = ".md.j2"

#: The templates each template source names, by (file name, source): the
#: same for every template set, so parsed once per process.
_REFERENCES: dict[tuple[str, str], tuple[str | None, ...]] = {}

_LANG_RE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")


def template_dirs(templates: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for templates, first match wins."""
    dirs: list[Path] = []
    if templates is None:
        from outreach.config import setting  # $OUTREACH_TEMPLATES, else the settings files

        templates = setting("letters.templates")
    user = templates
    if user is not None:
        path = Path(user).expanduser()
        if not path.is_dir():
            raise TemplateError(f"template folder {path} does not exist", template=str(path))
        dirs.append(path.resolve())
    dirs.append(letters_path())
    return dirs


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
    #: Fields read in another language than the letter's: (field, language).
    fallbacks: tuple[tuple[str, str], ...] = ()


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
            try:
                self._exists[filename] = any((d / filename).is_file() for d in self.dirs)
            except OSError:  # a name too long for a file name, and the like
                self._exists[filename] = False
        return self._exists[filename]

    @staticmethod
    def filename(name: str, language: str | None = None) -> str:
        return f"{name}.{language}{SUFFIX}" if language else f"{name}{SUFFIX}"

    def check_name(self, name: str) -> None:
        """Refuse a template name that is missing or not a plain name."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise TemplateError(f"{name!r} is not a template name (e.g. third-pillar)")
        if not self.exists(self.filename(name)):
            from outreach.suggest import suggestion

            where = ", ".join(str(d) for d in self.dirs)
            shown = for_terminal(name)  # one line, whatever the name holds
            raise TemplateError(
                f"no template {self.filename(shown)} in {where}"
                f"{suggestion(name, self.names())}; "
                f"check the name or the template folder (${ENV_TEMPLATES})",
                template=shown,
            )

    def names(self) -> list[str]:
        """The templates in the folders: each ``NAME.md.j2`` but the language
        variants (``NAME.LANG.md.j2``), sorted."""
        found: set[str] = set()
        for d in self.dirs:
            for path in d.glob(f"*{SUFFIX}"):
                name = path.name[: -len(SUFFIX)]
                base, dot, lang = name.rpartition(".")
                variant = dot and base and _LANG_RE.match(lang)
                if name and not name.startswith(".") and not variant:
                    found.add(name)
        return sorted(found)

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

    def _references(self, filename: str) -> tuple[str | None, ...]:
        """The templates *filename* names (None for a computed name), found
        once per source in this process (see :data:`_REFERENCES`)."""
        key = (filename, self._source(filename))
        found = _REFERENCES.get(key)
        if found is None:
            found = tuple(meta.find_referenced_templates(self._parse(filename)))
            if len(_REFERENCES) >= 512:
                _REFERENCES.clear()
            _REFERENCES[key] = found
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
            refs = self._references(current)
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


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _named(recipient: str | Callable[[], str]) -> str:
    return recipient if isinstance(recipient, str) else recipient()


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
        raise TemplateError(
            _explain(exc), template=name, line=line, recipient=_named(recipient)
        ) from None
    finally:
        _STATE.budget = outer
    if not subject:
        raise TemplateError(
            "the subject is empty: add {% block subject %}...{% endblock %}",
            template=compiled.filename,
            recipient=_named(recipient),
        )
    problem = text_problem(subject, multiline=True)
    if problem is not None:
        # an e-mail header and a file's title: no control characters
        raise TemplateError(
            f"the subject {problem}",
            template=compiled.filename,
            recipient=_named(recipient),
        )
    return Rendered(subject=subject, body=_tidy(body))


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
