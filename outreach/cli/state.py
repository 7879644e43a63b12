"""What every command shares: the state object on ``ctx.obj``, the ``--db``
option accepted after the subcommand too, and error handling.

Nothing here imports SQLAlchemy at module level.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from outreach.errors import OutreachError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from outreach.db import Database

F = TypeVar("F", bound=Callable[..., Any])


class CLIError(click.ClickException):
    """A user error, printed as ``Error: ...`` (plus any problem lines)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def show(self, file: Any = None) -> None:
        # messages quote stored names: shown with control characters escaped
        from outreach.safetext import for_terminal

        for line in self.problems:
            click.echo(for_terminal(str(line)), err=True)
        click.echo(f"Error: {for_terminal(self.format_message(), multiline=True)}", err=True)


#: Said on stderr as soon as a write finds another command's lock held.
WAITING_MESSAGE = "waiting for another outreach command to finish (up to {seconds:g} s)..."


def say_waiting(seconds: float) -> None:
    click.echo(WAITING_MESSAGE.format(seconds=seconds), err=True)


@dataclass
class AppState:
    db_url: str | None = None
    actor: str | None = None
    #: Seconds a write waits for another command's lock (``--wait``); None: the default.
    lock_timeout: float | None = None
    #: ``-q``: the human summary lines are not printed (errors still are).
    quiet: bool = False
    _db: Database | None = field(default=None, repr=False)

    def database(self, ctx: click.Context | None = None, *, check_schema: bool = True) -> Database:
        """The command's database, opened once and closed when the command ends."""
        if self._db is None:
            from outreach.db import Database

            resume_gc()

            from outreach.db.locks import LockWait

            lock = LockWait.from_env() if self.lock_timeout is None else LockWait(self.lock_timeout)
            lock.on_wait = say_waiting
            db = Database(self.db_url, actor=self.actor, check_schema=check_schema, lock=lock)
            ctx = ctx or click.get_current_context()
            ctx.find_root().call_on_close(db.dispose)
            self._db = db
        return self._db

    @contextlib.contextmanager
    def session(self, *, immediate: bool = False) -> Iterator[Session]:
        """One unit of work for the command: committed at the end, rolled back on error."""
        with self.database().session(immediate=immediate) as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A writing unit of work on a Core connection, without the ORM
        (:meth:`Database.write`): committed at the end, rolled back on error."""
        with self.database().write() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A reading unit of work on a Core connection (:meth:`Database.read`)."""
        with self.database().read() as conn:
            yield conn


pass_state = click.make_pass_decorator(AppState, ensure=True)

_gc_paused_at_start = False


def pause_gc() -> None:
    """Pause the cyclic garbage collector while a command starts up."""
    global _gc_paused_at_start
    if gc.isenabled():
        gc.disable()
        _gc_paused_at_start = True


def resume_gc() -> None:
    """Freeze what start-up made (it lives until the command ends) and turn the
    collector back on; a no-op unless :func:`pause_gc` paused it."""
    global _gc_paused_at_start
    if _gc_paused_at_start:
        _gc_paused_at_start = False
        gc.freeze()
        gc.enable()


def db_option(fn: F) -> F:
    """Accept ``--db`` after the subcommand as well as before it, and ``--wait``."""

    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            state = ctx.ensure_object(AppState)
            state.db_url = value
            state._db = None

    def wait_callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is not None:
            from outreach.db.locks import check_timeout

            try:
                seconds = check_timeout(value)
            except OutreachError as exc:
                raise click.BadParameter(exc.message) from None
            state = ctx.ensure_object(AppState)
            state.lock_timeout = seconds
            if state._db is not None:
                state._db.lock.timeout = seconds

    fn = click.option(
        "--wait",
        "_lock_wait",
        metavar="SECONDS",
        expose_value=False,
        callback=wait_callback,
        # on every command that opens the database: kept out of each --help
        # (the root group and `outreach db --help` say it once)
        hidden=True,
        help="How long a write waits for another outreach command's lock before giving up "
        "(exit status 75).  [env var: OUTREACH_LOCK_TIMEOUT; default: 30]",
    )(fn)
    return click.option(
        "--db",
        "_db_override",
        metavar="PATH|URL",
        expose_value=False,
        is_eager=True,
        callback=callback,
        help="Database: a SQLite file path or a postgresql:// URL.",
    )(fn)


#: Library fields whose option is spelled otherwise on the command line.
_OPTION_OF_FIELD = {"overwrite": "force", "output": "out", "save_to": "out"}


def error_text(exc: OutreachError) -> str:
    """A library error as the command line says it: the option named as it is
    spelled on the command line, then the hint as a command to see or to run
    (the error's ``hint_verb``)."""
    text = str(exc)
    field = getattr(exc, "field", None)
    if field:
        field = _OPTION_OF_FIELD.get(field, field)
        text = f"--{field.replace('_', '-')}: {text}"
    option = getattr(exc, "option", None)
    if option:
        text = f"{text} (--{option.replace('_', '-')})"
    hint = getattr(exc, "hint", None)
    if hint:
        text = f"{text}: {getattr(exc, 'hint_verb', 'see')} `outreach {hint}`"
    return text


def _is_database_exception(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("sqlalchemy", "sqlite3", "psycopg")


def _cli_error(exc: OutreachError, problems: list[str] | None = None) -> CLIError:
    err = CLIError(error_text(exc), problems)
    err.exit_code = exc.exit_code
    return err


#: What a Ctrl-C says when the command had nothing more precise to tell.
STOPPED_MESSAGE = (
    "stopped (Ctrl-C): the unfinished change was rolled back; everything saved before it is kept"
)


@contextlib.contextmanager
def handle_errors(ctx: click.Context) -> Iterator[None]:
    """Turn library errors into one-line messages and a non-zero exit; Ctrl-C
    into one line and exit status 130 (what was committed stays committed:
    every unit of work rolls back what it had not finished)."""
    try:
        yield
    except KeyboardInterrupt:
        from outreach.db.locks import INTERRUPTED_EXIT

        click.echo(err=True)
        err = CLIError(STOPPED_MESSAGE)
        err.exit_code = INTERRUPTED_EXIT
        raise err from None
    except ValidationError as exc:
        raise _cli_error(exc, exc.problems) from None
    except OutreachError as exc:
        raise _cli_error(exc) from None
    except FileNotFoundError as exc:
        raise CLIError(f"{exc.filename}: no such file") from None
    except (PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        what = {
            PermissionError: "permission denied",
            IsADirectoryError: "is a folder, not a file",
            NotADirectoryError: "a part of the path is not a folder",
        }[type(exc)]
        raise CLIError(f"{exc.filename or 'file'}: {what}; choose another path") from None
    except Exception as exc:
        if not _is_database_exception(exc):
            raise
        from outreach.config import redact
        from outreach.db.locks import is_read_only_refusal, read_only_error

        if is_read_only_refusal(exc):
            raise _cli_error(read_only_error()) from None

        state = ctx.find_object(AppState)
        url = state._db.url if state and state._db else None
        where = state._db.safe_url if state and state._db else "the database"
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        message = redact(detail[0] if detail else type(exc).__name__, url)
        if "locked" in message or "could not serialize" in message:
            hint = "another outreach command is busy with it; try again in a moment"
        else:
            hint = "check the database and run `outreach info`"
        raise CLIError(f"{where}: {message}; {hint}") from None


def wrap_errors(fn: F) -> F:
    """Decorator for commands outside the root group (used by tests)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with handle_errors(click.get_current_context()):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
