"""The values campaigns and dialogues are made of, parsed and checked: slugs,
dates, UN bodies, language codes, template variables (from a TOML/YAML file
or ``--set name=value`` pairs) and the text checks every stored field passes.

Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from outreach.errors import ValidationError
from outreach.safetext import needs_folding, new_lines, one_line, text_problem
from outreach.schema.enums import UNBody

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")
#: Placeholders for a dialogue date that is not known yet.
TBA = frozenset({"tba", "tbd", "to be announced", "unknown", "none", ""})


def check_slug(slug: str, what: str) -> str:
    """*slug* stripped, or :class:`ValidationError` if it cannot name a *what*."""
    slug = (slug or "").strip()
    if not _SLUG_RE.match(slug):
        raise ValidationError(
            f"{what} name {slug!r} is not valid: use lower-case letters, digits, '-', '.' "
            "or '_' (e.g. ga-2012)"
        )
    return slug


def parse_date(
    value: str | dt.date | None, field: str, *, allow_tba: bool = False
) -> dt.date | None:
    """A date from ``YYYY-MM-DD`` (or "to be announced" when *allow_tba*)."""
    if value is None or isinstance(value, dt.date):
        return value
    text = value.strip()
    if allow_tba and text.lower() in TBA:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        hint = ' or "tba" if it is not announced yet' if allow_tba else ""
        raise ValidationError(f"{field}: {value!r} is not a date; use YYYY-MM-DD{hint}") from None


def parse_body(value: str | UNBody) -> UNBody:
    try:
        return UNBody(value)
    except ValueError:
        choices = ", ".join(b.value for b in UNBody)
        raise ValidationError(f"body: {value!r} is not one of {choices}") from None


def check_language(value: str, field: str = "language") -> str:
    value = (value or "").strip()
    if not _LANG_RE.match(value):
        raise ValidationError(f"{field}: {value!r} is not a language code (e.g. en, fr, ar)")
    return value


def load_variables(path: str | Path) -> dict[str, Any]:
    """Template variables from a TOML or YAML file (a table of names to values)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such variables file") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            data: Any = tomllib.loads(raw.decode("utf-8"))
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(raw.decode("utf-8"))
        else:
            raise ValidationError(f"{path}: variables file must end in .toml, .yaml or .yml")
    except ValidationError:
        raise
    except Exception as exc:  # tomllib/yaml parse errors
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, RecursionError):
            detail = f"nested more than {MAX_VARIABLE_DEPTH} levels deep"
        raise ValidationError(f"{path}: cannot read variables: {detail}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: variables must be a table of name = value")
    _check_shape(data, str(path))
    return check_variables(data, source=str(path))


#: Template variables nested deeper, or holding more values in all, are
#: refused as read (YAML aliases can make a few lines mean billions of values,
#: or a list that holds itself).
MAX_VARIABLE_DEPTH = 20
MAX_VARIABLE_VALUES = 10_000
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _check_shape(data: Mapping[str, Any], source: str) -> None:
    """Refuse variables that cannot be stored and shown: too deep, too many
    values, numbers out of range, NUL or lone surrogates in text (walked
    without recursion, visiting shared YAML nodes once per use)."""
    stack: list[tuple[Any, str, int]] = [(v, str(k), 1) for k, v in data.items()]
    seen = 0
    while stack:
        value, where, depth = stack.pop()
        seen += 1
        problem = None
        if seen > MAX_VARIABLE_VALUES:
            raise ValidationError(
                f"{source}: more than {MAX_VARIABLE_VALUES} values in all (YAML aliases "
                "repeating lists?); keep template variables small"
            )
        if depth > MAX_VARIABLE_DEPTH:
            problem = f"nested more than {MAX_VARIABLE_DEPTH} levels deep"
        elif isinstance(value, float) and not math.isfinite(value):
            problem = f"{value} is not a number a letter can show; quote it to keep it as text"
        elif isinstance(value, str) and (bad := _UNSTORABLE.search(value)):
            code = ord(bad.group())
            if code == 0:
                what = "a NUL character (0x00)"
            elif 0xDC80 <= code <= 0xDCFF:  # a command-line byte that is not UTF-8
                what = f"the byte 0x{code - 0xDC00:02X}, which is not UTF-8 text"
            else:
                what = f"{ascii(bad.group())[1:-1]}, half of a UTF-16 surrogate pair"
            problem = f"contains {what}; remove it"
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and _UNSTORABLE.search(k):
                    problem = f"key {k!a} contains NUL or a lone surrogate; rename it"
                    break
                stack.append((v, f"{where}.{k}", depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
        if problem is not None:
            raise ValidationError(f"{source}: {ascii(where)[1:-1]}: {problem}")


def parse_set(items: Iterable[str]) -> dict[str, Any]:
    """``--set key=value`` pairs; ``YYYY-MM-DD`` values become dates."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValidationError(f"--set {item!r}: write it as name=value")
        key, value = item.split("=", 1)
        key = key.strip()
        value = value.strip()
        try:
            out[key] = dt.date.fromisoformat(value) if len(value) == 10 else value
        except ValueError:
            out[key] = value
    _check_shape(out, "--set")
    return check_variables(out, source="--set")


_VAR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def check_text(value: Any, field: str, *, multiline: bool = False) -> Any:
    """*value* as it may be stored (stripped; line breaks folded in one-line
    fields), or :class:`ValidationError` naming *field* for control characters,
    bidi overrides or (one-line) e-mail encoded words; non-text passes as it is."""
    if not isinstance(value, str):
        return value
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise ValidationError(f"{field}: {problem}")
    value = value.strip()
    if multiline:
        return new_lines(value)
    return one_line(value) if needs_folding(value) else value


def _check_values(value: Any, field: str) -> None:
    """Every text inside a template variable (lists and tables too; walked
    without recursion, each container once)."""
    stack = [(value, field)]
    seen: set[int] = set()
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            check_text(value, where, multiline=True)
        elif isinstance(value, dict | list | tuple) and id(value) not in seen:
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            fmt = "{}.{}" if isinstance(value, dict) else "{}[{}]"
            stack.extend((v, fmt.format(where, k)) for k, v in items)


def check_variables(data: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    """*data* as template variables may be stored (JSON-ready), or one
    :class:`ValidationError` listing every name or value that may not be."""
    # Imported here: the template engine (Jinja2) is not loaded to parse
    # command-line values.
    from outreach.templating import RESERVED

    problems = []
    for key in data:
        if not isinstance(key, str) or not _VAR_NAME.match(key):
            problems.append(f"{source}: {key!r} is not a valid variable name (letters, digits, _)")
        elif key in RESERVED:
            problems.append(f"{source}: {key!r} is reserved for the template context")
        else:
            try:
                _check_values(data[key], f"{source}: {key}")
            except ValidationError as exc:
                problems.append(str(exc))
    if problems:
        raise ValidationError("template variables are not valid", problems)
    return {k: jsonable(v) for k, v in data.items()}


def jsonable(value: Any) -> Any:
    """Variables are stored as JSON: dates become ISO strings tagged for the round trip."""
    if isinstance(value, dt.datetime):
        return {"$date": value.date().isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.time):
        return value.isoformat()
    return value


def apply_changes(obj: Any, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Set *values* on *obj*; what changed, as ``{field: [before, after]}``."""
    changes: dict[str, list[Any]] = {}
    for key, value in values.items():
        before = getattr(obj, key)
        if before != value:
            setattr(obj, key, value)
            changes[key] = [plain(before), plain(value)]
    return changes


def plain(value: Any) -> Any:
    """An enumeration member as its value; anything else as it is."""
    if hasattr(value, "value") and not isinstance(value, dict):
        return value.value
    return value
