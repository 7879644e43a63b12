"""Status reports: one campaign, one dialogue across its campaigns, one
organization across the years.

Each report is a library call returning plain dataclasses
(:func:`status_report`, :func:`dialogue_report`, :func:`history_report`);
:mod:`outreach.reports.formats` turns them into table, CSV, JSON or Markdown
text and :mod:`outreach.reports.html` into a self-contained HTML page.

The heavy lifting is done in SQL (grouped per organization), so a report on a
campaign with hundreds of thousands of letters loads a few hundred rows.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "status_report": "outreach.reports.status",
    "StatusReport": "outreach.reports.status",
    "RecipientStatus": "outreach.reports.status",
    "dialogue_report": "outreach.reports.dialogue",
    "DialogueReport": "outreach.reports.dialogue",
    "history_report": "outreach.reports.history",
    "HistoryReport": "outreach.reports.history",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'outreach.reports' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
