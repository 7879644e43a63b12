"""Service progress as a bar: the one way a command shows how far it is.

A service reports ``progress(done, total)`` now and then; :func:`progress_bar`
gives a command such a callback that draws a bar on a terminal's stderr, and
``None`` (no callback, nothing drawn) when stderr is a pipe or a file, so
that scripts and tests see only the command's output.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import Any, TypeVar

import click

T = TypeVar("T")

#: ``progress(done, total)``: *done* of *total* steps are finished.
Progress = Callable[[int, int], None]


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Progress | None]:
    """A ``progress(done, total)`` callback drawing a bar labelled *label*
    on a terminal (shown from the first call with a total above zero, closed
    when the block ends); ``None`` when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    with contextlib.ExitStack() as stack:
        bars: list[Any] = []

        def progress(done: int, total: int) -> None:
            if not bars:
                if total <= 0:
                    return
                bar = click.progressbar(length=total, label=label, file=sys.stderr)
                bars.append(stack.enter_context(bar))
            bar = bars[0]
            if total > 0 and bar.length != total:
                bar.length = total
            bar.update(max(done - bar.pos, 0))

        yield progress


def counting(progress: Progress | None, total: int) -> Callable[[int], None] | None:
    """A ``progress(done, total)`` fed by a service that reports only how many
    more steps are done, out of a *total* the service gave beforehand."""
    if progress is None:
        return None
    done = 0

    def step(n: int = 1) -> None:
        nonlocal done
        done += n
        progress(done, total)

    return step


def each_counted(items: Iterable[T], progress: Progress | None) -> Iterable[T]:
    """*items* as they are, or, with a *progress*, one by one reporting how
    many have been taken (for a service that walks what the command gave it);
    the total is 0, so no bar is drawn, when *items* cannot tell its length."""
    if progress is None:
        return items

    def walk() -> Iterator[T]:
        total = len(items) if isinstance(items, Sized) else 0
        for done, item in enumerate(items):
            progress(done, total)
            yield item
        progress(total, total)

    return walk()
