"""What can go wrong with a template, and where in it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import jinja2
from jinja2.sandbox import SecurityError

from outreach.errors import OutreachError

if TYPE_CHECKING:
    from outreach.templating.templates import CompiledTemplate


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


class LimitExceeded(SecurityError):
    """A letter went over its time or size limit."""


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
