"""The settings files: the user's (in the platform's config folder) and the
working folder's ``outreach.toml``, then the environment on top.

Order, later wins: the defaults, the user file, ``./outreach.toml``, the
environment variables; a caller's explicit value (a command-line option)
wins over all of them. Passwords are never kept in a file: they come from the
environment, the system keyring (:func:`store_password`) or a command that
prints them (``password_command``). Nothing is read at import time.
"""

from __future__ import annotations

import difflib
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outreach.errors import ConfigurationError

#: The file in the working folder (wins over the user's file).
LOCAL_FILE = "outreach.toml"
USER_FILE = "config.toml"
#: The keyring service under which passwords are stored.
KEYRING_SERVICE = "outreach"
#: Sections that have a password (kept out of the files).
SECRET_SECTIONS = ("smtp", "imap")
#: Seconds a password or token command may take.
COMMAND_TIMEOUT = 60.0

SECURITY = ("ssl", "starttls", "none")


@dataclass(frozen=True)
class Key:
    """One setting: its kind (how a value is checked), environment variable
    and default."""

    kind: str
    env: str
    default: Any = None
    choices: tuple[str, ...] = ()


KEYS: dict[str, Key] = {
    "database.url": Key("text", "OUTREACH_DATABASE_URL", "outreach.db"),
    "smtp.host": Key("host", "OUTREACH_SMTP_HOST", "localhost"),
    "smtp.port": Key("port", "OUTREACH_SMTP_PORT"),
    "smtp.security": Key("choice", "OUTREACH_SMTP_SECURITY", "starttls", SECURITY),
    "smtp.user": Key("text", "OUTREACH_SMTP_USER"),
    "smtp.from": Key("address", "OUTREACH_MAIL_FROM"),
    "smtp.password_command": Key("command", "OUTREACH_SMTP_PASSWORD_COMMAND"),
    "smtp.oauth_token_command": Key("command", "OUTREACH_SMTP_OAUTH_TOKEN_COMMAND"),
    "imap.host": Key("host", "OUTREACH_IMAP_HOST"),
    "imap.port": Key("port", "OUTREACH_IMAP_PORT"),
    "imap.security": Key("choice", "OUTREACH_IMAP_SECURITY", "ssl", SECURITY),
    "imap.user": Key("text", "OUTREACH_IMAP_USER"),
    "imap.folder": Key("text", "OUTREACH_IMAP_FOLDER", "INBOX"),
    "imap.password_command": Key("command", "OUTREACH_IMAP_PASSWORD_COMMAND"),
    "imap.oauth_token_command": Key("command", "OUTREACH_IMAP_OAUTH_TOKEN_COMMAND"),
    "identity.name": Key("text", "OUTREACH_USER"),
    "letters.templates": Key("folder", "OUTREACH_TEMPLATES"),
    "letters.paper": Key("choice", "OUTREACH_PAPER", "a4", ("a4", "letter")),
    "letters.logo": Key("file", "OUTREACH_LOGO"),
}

#: Environment variables holding a password (read, never written anywhere).
PASSWORD_ENV = {"smtp": "OUTREACH_SMTP_PASSWORD", "imap": "OUTREACH_IMAP_PASSWORD"}


def _is_password_key(key: str) -> bool:
    name = key.rpartition(".")[2].lower()
    return name in ("password", "passwd", "pass", "secret", "token") or name.endswith("_password")


# -- where the files are -------------------------------------------------------


def user_file() -> Path:
    """The user's settings file (``~/.config/outreach/config.toml`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("outreach")) / USER_FILE


def local_file(cwd: str | os.PathLike[str] | None = None) -> Path:
    """``outreach.toml`` in *cwd* (the working folder by default)."""
    return Path(cwd if cwd is not None else os.getcwd()) / LOCAL_FILE


# -- checking values -----------------------------------------------------------


def _check(key: str, value: Any, base: Path | None) -> Any:
    """*value* for *key* as it is used, or a :class:`ValueError` saying what
    is wrong (a string from the environment or the command line, or a TOML
    value); relative paths are taken from *base* (a file's folder)."""
    spec = KEYS[key]
    if spec.kind == "port":
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise ValueError(f"{value!r} is not a port number: give a number from 1 to 65535")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text: write it in double quotes")
    value = value.strip()
    if not value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("is empty or holds control characters")
    if spec.kind == "choice" and value.lower() not in spec.choices:
        raise ValueError(f"{value!r} is not one of {', '.join(spec.choices)}")
    if spec.kind == "choice":
        return value.lower()
    if spec.kind == "host" and any(c in value for c in " /@"):
        raise ValueError(f"{value!r} is not a host name")
    if spec.kind == "address" and ("@" not in value.strip("@") or " " in value):
        raise ValueError(f"{value!r} is not an e-mail address")
    if spec.kind == "command":
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot be split into words ({exc})") from None
        if not argv:
            raise ValueError("names no program")
    if spec.kind in ("folder", "file"):
        path = Path(value).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        return str(path)
    return value


# -- reading -------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    #: Where the value came from: a file's path, ``$NAME`` or ``default``.
    source: str


def _problem(path: Path, what: str, todo: str) -> ConfigurationError:
    return ConfigurationError(f"settings file {path}: {what}; {todo}")


_cache: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def read_file(path: Path) -> dict[str, Any]:
    """The checked settings of the file *path* (``{}`` when it does not exist).

    Raises :class:`ConfigurationError`, naming the file and the key, for a
    file that is not TOML, an unknown key, a bad value or a password."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise _problem(path, f"cannot be read ({exc.strerror})", "check its permissions") from None
    if path.is_dir():
        raise _problem(path, "is a folder, not a file", "remove the folder or rename it")
    stamp = (st.st_mtime_ns, st.st_size)
    cached = _cache.get(path)
    if cached and cached[0] == stamp:
        return dict(cached[1])
    values = _parse(path, _load_toml(path))
    _cache[path] = (stamp, values)
    return dict(values)


def _load_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        raw = path.read_bytes()
        return tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise _problem(path, f"cannot be read ({exc.strerror})", "check its permissions") from None
    except UnicodeDecodeError:
        raise _problem(path, "is not UTF-8 text", "save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise _problem(path, f"is not valid TOML ({exc})", "correct it or remove it") from None


def _parse(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    sections = {k.partition(".")[0] for k in KEYS}
    for section, table in data.items():
        if not isinstance(table, dict):
            if section in sections:
                raise _problem(path, f"{section} must be a [{section}] table", "see the examples")
            raise _problem(path, f"{section} is not a setting", _known(section))
        for name, value in table.items():
            key = f"{section}.{name}"
            if _is_password_key(key):
                raise _problem(
                    path,
                    f"{key}: a password is never read from a settings file",
                    f"remove it; keep it in the system keyring or give {section}.password_command",
                )
            if key not in KEYS:
                raise _problem(path, f"{key} is not a setting", _known(key))
            try:
                values[key] = _check(key, value, path.parent)
            except ValueError as exc:
                raise _problem(path, f"{key} {exc}", "correct the value") from None
            if key == "database.url" and _url_has_password(values[key]):
                raise _problem(
                    path,
                    "database.url holds a password, which is never read from a settings file",
                    "take it out of the URL and keep it in ~/.pgpass or $PGPASSWORD",
                )
    return values


def _url_has_password(url: str) -> bool:
    from outreach.config import url_password

    return url_password(url) is not None


def _known(key: str) -> str:
    close = difflib.get_close_matches(key, list(KEYS), n=1)
    if close:
        return f"did you mean {close[0]}?"
    return "the settings are " + ", ".join(KEYS)


class Settings:
    """The effective settings, each with where it came from."""

    def __init__(self, settings: dict[str, Setting], files: list[Path]) -> None:
        self._settings = settings
        self.files = files

    def setting(self, key: str) -> Setting:
        """*key*'s value and source; raises the problem of a bad environment variable."""
        found = self._settings[key]
        if isinstance(found.value, ConfigurationError):
            raise found.value
        return found

    def __getitem__(self, key: str) -> Any:
        return self.setting(key).value

    def get(self, key: str, default: Any = None) -> Any:
        value = self.setting(key).value
        return default if value is None else value

    def explicit(self, key: str) -> Any:
        """The value of *key* from a file or the environment, ``None`` for the default."""
        found = self.setting(key)
        return None if found.source == "default" else found.value

    def all(self) -> list[Setting]:
        return list(self._settings.values())


def load(
    environ: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None
) -> Settings:
    """The settings of the two files and the environment (*environ*, by
    default ``os.environ``), the defaults under them."""
    env = os.environ if environ is None else environ
    files = [user_file(), local_file(cwd)]
    settings = {key: Setting(key, spec.default, "default") for key, spec in KEYS.items()}
    for path in files:
        for key, value in read_file(path).items():
            settings[key] = Setting(key, value, str(path))
    for key, spec in KEYS.items():
        raw = env.get(spec.env, "")
        if raw.strip():
            try:
                settings[key] = Setting(key, _check(key, raw, None), f"${spec.env}")
            except ValueError as exc:
                # said when the setting is used, so that it stops only what needs it
                problem = ConfigurationError(
                    f"${spec.env} ({key}) {exc}; correct or unset the variable"
                )
                settings[key] = Setting(key, problem, f"${spec.env}")
    return Settings(settings, files)


# -- writing -------------------------------------------------------------------


def _writable_key(key: str) -> str:
    if _is_password_key(key):
        section = key.partition(".")[0]
        error = ConfigurationError(
            f"{key}: passwords are never written to a settings file; store it in the system "
            f"keyring, or give {section}.password_command",
            hint=f"config set-password {section if section in SECRET_SECTIONS else 'smtp'}",
        )
        error.hint_verb = "run"
        raise error
    if key not in KEYS:
        raise ConfigurationError(f"{key} is not a setting: {_known(key)}")
    return key


def _edit(path: Path, change: Callable[[dict[str, Any]], bool]) -> bool:
    """Apply *change* to the TOML document of *path* and write it back
    atomically (``0600``), the folder made ``0700`` when missing."""
    import tomli_w

    from outreach.files import atomic_output, make_dirs

    if path.is_dir():
        raise _problem(path, "is a folder, not a file", "remove the folder or rename it")
    doc = _load_toml(path) if path.exists() else {}
    _parse(path, doc)  # a broken file is corrected by hand, not overwritten
    if not change(doc):
        return False
    try:
        make_dirs(path.parent)
        with atomic_output(path, "wb") as fh:
            fh.write(tomli_w.dumps(doc).encode("utf-8"))
        os.chmod(path, 0o600)
    except OSError as exc:
        raise _problem(path, f"cannot be written ({exc.strerror})", "check the folder") from None
    _cache.pop(path, None)
    return True


def set_value(key: str, value: str, path: Path) -> Any:
    """Write *key* = *value* (checked) into the settings file *path*; the value written."""
    _writable_key(key)
    try:
        checked = _check(key, value, Path.cwd())
    except ValueError as exc:
        raise ConfigurationError(f"{key} {exc}") from None
    if key == "database.url" and _url_has_password(checked):
        raise ConfigurationError(
            "database.url: passwords are never written to a settings file; give the URL "
            "without it and keep the password in ~/.pgpass or $PGPASSWORD"
        )
    section, _, name = key.partition(".")

    def change(doc: dict[str, Any]) -> bool:
        doc.setdefault(section, {})[name] = checked
        return True

    _edit(path, change)
    return checked


def unset_value(key: str, path: Path) -> bool:
    """Remove *key* from the settings file *path*; False if it was not there."""
    if key not in KEYS:
        _writable_key(key)
    section, _, name = key.partition(".")

    def change(doc: dict[str, Any]) -> bool:
        table = doc.get(section)
        if not isinstance(table, dict) or name not in table:
            return False
        del table[name]
        if not table:
            del doc[section]
        return True

    return path.exists() and _edit(path, change)


# -- passwords and tokens ------------------------------------------------------


def keyring_account(
    section: str, settings: Settings, user: str | None = None, host: str | None = None
) -> str:
    """The keyring user name of *section*'s password: ``smtp:USER@HOST``
    (*user* and *host*, else the settings')."""
    user = user or settings.get(f"{section}.user")
    host = host or settings.get(f"{section}.host")
    if not user or not host:
        raise ConfigurationError(
            f"{section}.user and {section}.host must be set before a password can be stored",
            hint=f"config set {section}.user NAME",
        )
    return f"{section}:{user}@{host}"


def _keyring() -> Any:
    try:
        import keyring
    except ImportError:  # pragma: no cover - a dependency
        raise ConfigurationError("the keyring package is not installed") from None
    return keyring


def keyring_password(
    section: str, settings: Settings, user: str | None = None, host: str | None = None
) -> str | None:
    """*section*'s password from the system keyring; ``None`` when there is
    none (or no keyring on this machine)."""
    user = user or settings.get(f"{section}.user")
    host = host or settings.get(f"{section}.host")
    if not user or not host:
        return None
    keyring = _keyring()
    try:
        return keyring.get_password(KEYRING_SERVICE, f"{section}:{user}@{host}")
    except Exception:  # no usable keyring backend: as if nothing were stored
        return None


def store_password(section: str, password: str, settings: Settings) -> str:
    """Keep *section*'s password in the system keyring; the account it is stored under."""
    if section not in SECRET_SECTIONS:
        raise ConfigurationError(f"{section!r} has no password: use smtp or imap")
    account = keyring_account(section, settings)
    keyring = _keyring()
    try:
        keyring.set_password(KEYRING_SERVICE, account, password)
    except Exception as exc:
        raise ConfigurationError(
            f"the system keyring cannot store the password ({type(exc).__name__}); "
            f"give {section}.password_command instead"
        ) from None
    return account


def run_secret_command(key: str, command: str) -> str:
    """Run *command* (the setting *key*, split into words, no shell) and
    return the first line it prints, stripped. Its output is never shown in
    an error: it may be the secret."""
    argv = shlex.split(command)
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigurationError(f"{key}: the program {argv[0]!r} is not found") from None
    except PermissionError:
        raise ConfigurationError(f"{key}: the program {argv[0]!r} cannot be run") from None
    except subprocess.TimeoutExpired:
        raise ConfigurationError(
            f"{key}: {argv[0]} gave no answer in {COMMAND_TIMEOUT:g} s"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"{key}: {argv[0]} cannot be run ({exc.strerror})") from None
    if done.returncode != 0:
        raise ConfigurationError(
            f"{key}: {argv[0]} failed (exit status {done.returncode}); run it yourself to see why"
        )
    text = done.stdout.decode("utf-8", "replace").strip()
    line = text.splitlines()[0].strip() if text else ""
    if not line:
        raise ConfigurationError(f"{key}: {argv[0]} printed nothing")
    return line


def password(
    section: str,
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    *,
    user: str | None = None,
    host: str | None = None,
) -> str | None:
    """*section*'s password: the environment, else its password command, else
    the keyring (for *user* at *host*, by default the settings')."""
    env = os.environ if environ is None else environ
    if env.get(PASSWORD_ENV[section]):
        return env[PASSWORD_ENV[section]]
    command = settings.get(f"{section}.password_command")
    if command:
        return run_secret_command(f"{section}.password_command", command)
    return keyring_password(section, settings, user, host)


def oauth_token(section: str, settings: Settings) -> str | None:
    """An OAuth2 access token from *section*'s token command (``None`` if none is set)."""
    command = settings.get(f"{section}.oauth_token_command")
    return run_secret_command(f"{section}.oauth_token_command", command) if command else None


def password_source(
    section: str, settings: Settings, environ: Mapping[str, str] | None = None
) -> str:
    """Where *section*'s password would come from, without running anything."""
    env = os.environ if environ is None else environ
    if settings.get(f"{section}.oauth_token_command"):
        return "(OAuth2 token command)"
    if env.get(PASSWORD_ENV[section]):
        return f"(${PASSWORD_ENV[section]})"
    if settings.get(f"{section}.password_command"):
        return "(command)"
    if keyring_password(section, settings) is not None:
        return "(keyring)"
    return "(not set)"
