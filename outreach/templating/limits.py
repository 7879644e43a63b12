"""Render limits: a template is user code, and must not hang a batch or
exhaust the machine.

Each letter gets a deadline and a size limit (characters) that every string,
list or mapping it builds, and the letter itself, must stay within; and all
the text it builds along the way, counted together, stays within
WORK_FACTOR times that. The checks sit where a template can make something
large or spend time: the sandbox's calls and operators (see
:mod:`outreach.templating.sandbox`), every built-in filter, ``~``, list,
tuple and dict displays, every loop round (a loop's iterable is wrapped by
the code generator below) and every joined output.
"""

from __future__ import annotations

import functools
import os
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.utils import Namespace

from outreach.errors import ConfigurationError
from outreach.templating.errors import LimitExceeded

#: Largest string, list or number a template may build with ``*`` or ``**``:
#: a letter never needs more, and ``{{ 'a' * 10**9 }}`` must not hang a batch.
MAX_PRODUCT = 100_000


def _power_too_large(base: float, exponent: float) -> bool:
    if abs(exponent) > 64:
        return True
    return abs(base) > 1 and abs(exponent) * len(str(int(abs(base)))) > 64


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
