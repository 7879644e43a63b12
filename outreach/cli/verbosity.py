"""``-v/--verbose`` and ``-q/--quiet``: how much a command says.

Notes on the way (what a command is doing, each letter it handles) go
through the standard ``logging`` module, to the ``outreach`` logger, and are
shown on stderr: warnings by default, ``-v`` adds progress notes (INFO),
``-vv`` every step (DEBUG), ``-q`` only errors. The human summary a command
prints on stdout goes through :func:`say`, which ``-q`` silences; errors are
never silenced (they are raised, and printed by Click).

Only click, logging and the standard library are imported here.
"""

from __future__ import annotations

import logging

import click

from outreach.safetext import for_terminal

#: The logger every command's notes go to (``logging.getLogger("outreach.x")``
#: below it works the same).
LOGGER_NAME = "outreach"

logger = logging.getLogger(LOGGER_NAME)

_PREFIX = {logging.DEBUG: "debug: ", logging.INFO: "", logging.WARNING: "Warning: "}


class _StderrHandler(logging.Handler):
    """Each record as one line on stderr (through click, so that tests and
    redirections see it), stored text in it shown with control characters
    escaped."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            prefix = _PREFIX.get(record.levelno, "Error: ")
            click.echo(for_terminal(prefix + record.getMessage(), multiline=True), err=True)
        except Exception:  # pragma: no cover - logging must never break a command
            self.handleError(record)


def level_for(verbose: int, quiet: bool) -> int:
    """The ``outreach`` logger's level for ``-v`` given *verbose* times, or ``-q``."""
    if quiet:
        return logging.ERROR
    if verbose >= 2:
        return logging.DEBUG
    if verbose == 1:
        return logging.INFO
    return logging.WARNING


def configure(verbose: int, quiet: bool) -> int:
    """Set the ``outreach`` logger for this command (once per process, its
    handler; every time, its level); returns the level."""
    if verbose and quiet:
        raise click.UsageError("-v/--verbose and -q/--quiet do not go together")
    level = level_for(verbose, quiet)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
        # the notes are the command line's to show: not also the root logger's
        logger.propagate = False
    logger.setLevel(level)
    return level


def is_quiet() -> bool:
    """Whether ``-q`` was given to the command running now."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    from outreach.cli.state import AppState

    state = ctx.find_object(AppState)
    return bool(state is not None and state.quiet)


def say(message: str, *, err: bool = False, multiline: bool = False, nl: bool = True) -> None:
    """A line of the human summary (``outreach.cli.output.echo``), unless ``-q``."""
    if is_quiet():
        return
    click.echo(for_terminal(message, multiline=multiline), err=err, nl=nl)
