"""How a campaign's letters are printed: its page settings
(:mod:`outreach.render.layout`) with this machine's defaults."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from outreach.render.layout import LOGO_KEY, SIGNATURE_KEY, PageSettings, page_settings


def campaign_page_settings(variables: Mapping[str, Any] | None) -> PageSettings:
    """:func:`page_settings` of a campaign's *variables*, with the machine's
    defaults (the ``letters.paper`` and ``letters.logo`` settings).

    A stored letter asks for them one by one (``letter_doc``): the settings
    are read once per campaign and state of the settings files, not once per
    letter."""
    from outreach.configfile import local_file, user_file

    images = [
        Path(str(value)).expanduser()
        for value in ((variables or {}).get(LOGO_KEY), (variables or {}).get(SIGNATURE_KEY))
        if isinstance(value, str) and value
    ]
    files = tuple(_stamp(path) for path in (user_file(), local_file(), *images))
    env = (os.environ.get("OUTREACH_PAPER"), os.environ.get("OUTREACH_LOGO"))
    key = json.dumps(variables or {}, sort_keys=True, default=str)
    return _settings(key, files, env)


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        found = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), found.st_mtime_ns, found.st_size)


@functools.lru_cache(maxsize=64)
def _settings(variables: str, _files: tuple[Any, ...], _env: tuple[Any, ...]) -> PageSettings:
    from outreach.configfile import load

    settings = load()
    return page_settings(
        json.loads(variables),
        default_paper=settings.get("letters.paper"),
        default_logo=settings.get("letters.logo"),
    )
