"""Service progress as a bar: the one way a command shows how far it is.

A service reports ``progress(done, total)`` now and then (*total* ``None``
when it is not known: the bar then shows a count); :func:`progress_bar`
gives a command such a callback that draws a bar on a terminal's stderr, and
``None`` (no callback, nothing drawn) when stderr is a pipe or a file, so
that scripts and tests see only the command's output.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

#: ``progress(done, total)``: *done* of *total* steps are finished (*total*
#: ``None``: not known).
Progress = Callable[[int, int | None], None]


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Progress | None]:
    """A ``progress(done, total)`` callback drawing a bar labelled *label*
    on a terminal (shown from the first call with a total above zero, or an
    unknown one, closed when the block ends); ``None`` when stderr is not a
    terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    with contextlib.ExitStack() as stack:
        bars: list[Any] = []

        def progress(done: int, total: int | None) -> None:
            if not bars:
                if total is None:  # a count: no length, so no end to draw
                    unknown = (step for step in ())
                    bar = click.progressbar(unknown, label=label, file=sys.stderr, show_pos=True)
                elif total <= 0:
                    return
                else:
                    bar = click.progressbar(length=total, label=label, file=sys.stderr)
                bars.append(stack.enter_context(bar))
            bar = bars[0]
            if total is not None and total > 0 and bar.length != total:
                bar.length = total
            bar.update(max(done - bar.pos, 0))

        yield progress
