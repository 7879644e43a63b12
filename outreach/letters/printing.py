"""How a campaign's letters are printed: its page settings
(:mod:`outreach.render.layout`) with this machine's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from outreach.render.layout import PageSettings, page_settings


def campaign_page_settings(variables: Mapping[str, Any] | None) -> PageSettings:
    """:func:`page_settings` of a campaign's *variables*, with the machine's
    defaults (the ``letters.paper`` and ``letters.logo`` settings)."""
    from outreach.configfile import load

    settings = load()
    return page_settings(
        variables,
        default_paper=settings.get("letters.paper"),
        default_logo=settings.get("letters.logo"),
    )
