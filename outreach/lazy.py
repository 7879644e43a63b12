"""Lazy re-exports for a package's ``__init__`` (PEP 562).

A package lists which of its modules defines each public name; the name is
imported the first time it is used, then kept in the package's namespace::

    __getattr__, __dir__ = lazy_exports(__name__, {"find_contact": "records"})

so importing one room of the package (or the CLI) does not load what the
other rooms need (the ORM, say). Keep the ``TYPE_CHECKING`` imports and
``__all__`` in the package, for static tools.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def homes_of(modules: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``{module: (name, ...)}`` turned into ``{name: module}``."""
    return {name: module for module, names in modules.items() for name in names}


def lazy_exports(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of *package*, where *homes* maps each
    lazily exported name to the module that defines it, relative to *package*
    (``"records"``, ``"schema.models"``). A name that is its module's own last
    part (``"models"`` in ``"schema.models"``) is the module itself."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name = f"{package}.{home}"
        module = importlib.import_module(module_name)
        value = module if module_name.endswith("." + name) else getattr(module, name)
        vars(sys.modules[package])[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *homes})

    return __getattr__, __dir__
