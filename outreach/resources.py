"""Where the shipped data lives: Alembic scripts, letter templates, directory.

In an installed wheel they sit inside the package (``outreach/_data/<name>``);
in a source checkout or an editable install they are the top-level folders of
the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """Return the folder of shipped data called *name* (``migrations``, ``letters``,
    ``contacts``)."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"outreach is missing its {name!r} data folder; reinstall outreach")


def migrations_path() -> Path:
    return data_path("migrations")


def letters_path() -> Path:
    return data_path("letters")


def contacts_path() -> Path:
    return data_path("contacts")
