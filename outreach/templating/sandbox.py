"""The sandbox letters are rendered in: Jinja's immutable sandbox with the
render limits (:mod:`outreach.templating.limits`), a fast path for
:class:`~outreach.templating.context.Record` keys, templates whose imported
modules are made afresh for every letter, and a loader that keeps to its
folders."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from outreach.templating.context import Localized, Record
from outreach.templating.errors import TemplateError
from outreach.templating.filters import LETTER_FILTERS
from outreach.templating.limits import (
    MAX_PRODUCT,
    RenderLimits,
    _budget,
    _check_format,
    _checked_concat,
    _checked_filter,
    _checked_lipsum,
    _LetterCodeGenerator,
    _power_too_large,
    _precheck_method,
    _rounds,
    _size,
)


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


class _CompiledCache(jinja2.BytecodeCache):
    """The compiled code of every template this process has read, shared by
    all its environments: a command compiles the same letter template for
    generating, for the stale-letter check and for sending, and a long
    process (the tests, a server) makes many environments.

    Jinja keys each entry by template name and file and checks it against a
    checksum of the source, so an edited template is compiled again. The
    generated code does not depend on the limits (they are read when the
    letter renders) and every environment is made by :func:`make_environment`
    with the same options, so one compiled form serves them all. Bounded: the
    oldest entries go first."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            data = self._entries.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: Bucket) -> None:
        data = bucket.bytecode_to_string()
        with self._lock:
            self._entries.pop(bucket.key, None)
            while len(self._entries) >= self.size:
                del self._entries[next(iter(self._entries))]
            self._entries[bucket.key] = data

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: Shared by every environment of this process (see :class:`_CompiledCache`).
COMPILED = _CompiledCache()


def make_environment(
    dirs: Iterable[Path], limits: RenderLimits | None = None
) -> ImmutableSandboxedEnvironment:
    env = LetterSandbox(
        limits=limits,
        bytecode_cache=COMPILED,
        loader=_FolderLoader([str(d) for d in dirs], encoding="utf-8"),
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(LETTER_FILTERS)
    return env


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
        if type(obj) is Record or type(obj) is Localized:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)
