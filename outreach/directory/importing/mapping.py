"""Column mappings: which header is read as which field, beyond the aliases.

A mapping is given as ``"Header=field"`` items (:func:`parse_mapping`), as a
saved mapping file (:func:`load_map_file`), or both (:func:`combine`: the
items win over the file). A mapping file is TOML or YAML with one table::

    [columns]
    "Nombre completo" = "name"
    "Correo" = "email"
    "Ref. interna" = "-"        # "-" (or "") ignores the column

    # the same in YAML:
    columns:
      Nombre completo: name
      Ref. interna: "-"

Every target is checked when the file is loaded (an unknown field names the
file); every header it names must be a column of the file imported
(:func:`~.columns.check_mapped_columns`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from outreach.directory.importing.columns import (
    header_key,
    known_fields,
    mapped_field,
    quoted,
)
from outreach.errors import ConfigurationError

#: A mapping file larger than this is no mapping file.
MAX_MAP_FILE_BYTES = 1_000_000
#: Entries one mapping file may hold.
MAX_MAP_ENTRIES = 2_000


class ColumnMap(dict[str, str]):
    """``header -> field`` (``"-"`` ignores), remembering where each entry
    came from: :attr:`origins` maps a header to its mapping file's name, or
    to ``None`` when the caller gave it."""

    def __init__(self, entries: Iterable[tuple[str, str]] = (), origin: str | None = None):
        super().__init__()
        self.origins: dict[str, str | None] = {}
        for header, target in entries:
            self[header] = target
            self.origins[header] = origin


def parse_mapping(items: Iterable[str]) -> ColumnMap:
    """``["E-mail address=email", "Ref=-"]`` -> ``{"E-mail address": "email", "Ref": "-"}``."""
    out = ColumnMap()
    for item in items:
        header, eq, target = item.partition("=")
        if not eq or not header.strip():
            raise ConfigurationError(
                f'{item!r}: write it as "Header=field" (or "Header=-")', field="map"
            )
        out[header.strip()] = target.strip()
        out.origins[header.strip()] = None
    return out


def combine(*maps: Mapping[str, str]) -> ColumnMap:
    """One mapping from several, later ones winning for the same header (the
    same ignoring case, accents and punctuation, as headers are compared)."""
    out = ColumnMap()
    keys: dict[str, str] = {}
    for mapping in maps:
        origins = getattr(mapping, "origins", {})
        for header, target in mapping.items():
            old = keys.get(header_key(header))
            if old is not None:
                del out[old]
                del out.origins[old]
            keys[header_key(header)] = header
            out[header] = target
            out.origins[header] = origins.get(header)
    return out


def _parse(path: Path, name: str) -> Any:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigurationError(
            f"{name}: a mapping file is TOML (.toml) or YAML (.yaml, .yml); name it so",
            field="map_file",
        )
    try:
        size = path.stat().st_size
        if size > MAX_MAP_FILE_BYTES:
            raise ConfigurationError(
                f"{name}: {size:,} bytes is too large for a mapping file (at most "
                f"{MAX_MAP_FILE_BYTES:,})",
                field="map_file",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(f"{name}: no such file", field="map_file") from None
    except IsADirectoryError:
        raise ConfigurationError(f"{name}: is a folder, not a file", field="map_file") from None
    except OSError as exc:
        raise ConfigurationError(
            f"{name}: cannot read it ({exc.strerror or exc})", field="map_file"
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigurationError(
            f"{name}: not UTF-8 text; save the mapping file as UTF-8", field="map_file"
        ) from None
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(
                f"{name}: not valid TOML ({exc}); quote headers holding spaces or dots: "
                '"Nombre completo" = "name"',
                field="map_file",
            ) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        what = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigurationError(f"{name}: not valid YAML{at} ({what})", field="map_file") from None
    except RecursionError:
        raise ConfigurationError(
            f"{name}: not valid YAML (nested too deep)", field="map_file"
        ) from None


def load_map_file(path: str | Path, kind: str) -> ColumnMap:
    """The ``[columns]`` table of the mapping file at *path*, every target
    checked as a field of *kind* records (``"organization"`` or ``"contact"``)."""
    path = Path(path)
    name = str(path)
    doc = _parse(path, name)

    def bad(message: str) -> ConfigurationError:
        return ConfigurationError(f"{name}: {message}", field="map_file")

    if not isinstance(doc, dict) or not isinstance(doc.get("columns"), dict):
        raise bad(
            'no [columns] table; write [columns] and then one "Header" = "field" per line '
            "(YAML: columns: followed by Header: field lines)"
        )
    others = [str(k) for k in doc if k != "columns"]
    if others:
        raise bad(f"unknown key {quoted(others[0])}: the file holds one [columns] table")
    columns = doc["columns"]
    if len(columns) > MAX_MAP_ENTRIES:
        raise bad(f"{len(columns):,} columns mapped, more than {MAX_MAP_ENTRIES:,}")
    fields = known_fields(kind)
    out = ColumnMap(origin=name)
    seen: dict[str, str] = {}
    for header, target in columns.items():
        if not isinstance(header, str) or not header.strip():
            raise bad(f"[columns] {quoted(str(header))}: a header must be text, not empty")
        shown = quoted(header)
        if target is None or target is False:
            target = "-"
        if not isinstance(target, str):
            kind_of = (
                "a table (a header holding a dot? quote it)"
                if isinstance(target, dict)
                else type(target).__name__
            )
            raise bad(
                f'[columns] {shown}: give a field name, or "-" to ignore the column, not {kind_of}'
            )
        target = target.strip()
        if target not in ("", "-") and mapped_field(target, kind) is None:
            raise bad(
                f"[columns] {shown} = {quoted(target)}: no {kind} field is called "
                f"that; fields: {', '.join(sorted(fields))}, and text per language "
                + ("such as name_fr" if kind == "organization" else "such as position_fr")
            )
        key = header_key(header)
        if key in seen:
            raise bad(f"[columns] {shown} names the same column as {quoted(seen[key])}")
        seen[key] = header
        out[header.strip()] = target
        out.origins[header.strip()] = name
    return out
