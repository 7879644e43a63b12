"""The exceptions outreach raises.

Every error a user can cause derives from :class:`OutreachError`. They know
nothing of the command line: the CLI turns them into one-line messages.
"""

from __future__ import annotations


class OutreachError(Exception):
    """Root of every error that is the user's to fix (bad input, wrong state).

    *hint* names what to do next in library words: the outreach command that
    helps, without the program name (``"campaigns list"``). The command line
    shows it as "see `outreach campaigns list`"; a script can show it its
    own way. *field* names the argument or setting that was wrong (``"out"``,
    ``"format"``), which the command line turns into its option name.
    :attr:`hint_verb` says how the hint reads: a command to *see* for more,
    or one to *run* to fix the problem. *option* names an argument of the same
    call that would have let it through (``"skip_invalid"``); the command line
    names it as its option.
    """

    exit_code = 1
    hint_verb = "see"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        field: str | None = None,
        option: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field
        self.option = option


class ConfigurationError(OutreachError):
    """A setting, option or database URL is wrong or missing."""


class DatabaseError(OutreachError):
    """The database cannot be reached or used."""


class SchemaError(DatabaseError):
    """The database schema does not match this version of outreach.

    Its *hint* is the command that brings the schema in line (``"db upgrade"``).
    """

    hint_verb = "run"


class NotFoundError(OutreachError):
    """A named record does not exist."""


class ValidationError(OutreachError):
    """Input failed validation; ``problems`` lists every problem found."""

    def __init__(
        self,
        message: str,
        problems: list[str] | None = None,
        *,
        hint: str | None = None,
        field: str | None = None,
        option: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, field=field, option=option)
        self.problems = list(problems or [])


class ConflictError(OutreachError):
    """The change would duplicate or contradict something that exists."""
