"""Status reports: one campaign, one dialogue across its campaigns, one
organization across the years.

Each report is a library call returning plain dataclasses
(:func:`status_report`, :func:`dialogue_report`, :func:`history_report`);
:func:`render_status`, :func:`render_dialogue` and :func:`render_history`
turn one into text in any of :data:`FORMATS`: the text formats live in
:mod:`outreach.reports.text`, the self-contained HTML page in
:mod:`outreach.reports.html`, the wording they share in
:mod:`outreach.reports.labels` and the SQL in :mod:`outreach.reports.queries`.

The heavy lifting is done in SQL (grouped per organization), so a report on a
campaign with hundreds of thousands of letters loads a few hundred rows.
Nothing here loads the ORM, and a module is imported only when its report or
format is asked for (matplotlib only for HTML).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from outreach.reports.dialogue import DialogueReport
    from outreach.reports.history import HistoryReport
    from outreach.reports.status import StatusReport

_LAZY = {
    "status_report": "outreach.reports.status",
    "StatusReport": "outreach.reports.status",
    "RecipientStatus": "outreach.reports.status",
    "dialogue_report": "outreach.reports.dialogue",
    "DialogueReport": "outreach.reports.dialogue",
    "history_report": "outreach.reports.history",
    "HistoryReport": "outreach.reports.history",
}

#: The report formats, the first the default.
FORMATS = ("table", "csv", "json", "md", "html")

#: Format -> (module, suffix of its ``status_…``, ``dialogue_…`` and
#: ``history_…`` functions). Only the table takes ``color``.
_RENDERERS = {
    "table": ("outreach.reports.text.table", "table"),
    "csv": ("outreach.reports.text.csvtext", "csv"),
    "json": ("outreach.reports.text.jsondata", "json"),
    "md": ("outreach.reports.text.markdown", "markdown"),
    "html": ("outreach.reports.html", "html"),
}

__all__ = sorted(
    [*_LAZY, "FORMATS", "TRANSLATED_FORMATS", "render_dialogue", "render_history", "render_status"]
)


#: The formats written for people, in the report's language; CSV and JSON
#: are machine data and stay English (see :mod:`outreach.reports.i18n`).
TRANSLATED_FORMATS = ("table", "md", "html")


def _render(
    report_kind: str, report: Any, fmt: str, color: bool, language: str | None
) -> str:
    from outreach.reports.i18n import DEFAULT_LANGUAGE, check_language, using

    language = check_language(language)
    module, suffix = _RENDERERS.get(fmt, _RENDERERS["table"])
    render = getattr(importlib.import_module(module), f"{report_kind}_{suffix}")
    if suffix not in ("table", "markdown", "html"):
        language = DEFAULT_LANGUAGE
    with using(language):
        return render(report, color=color) if suffix == "table" else render(report)


def render_status(
    report: StatusReport, fmt: str, *, color: bool = False, language: str | None = None
) -> str:
    """The status report as *fmt* (one of :data:`FORMATS`; anything else is
    a table); *color* adds ANSI colours to a table; *language* (one of
    :data:`outreach.reports.i18n.LANGUAGES`, English by default) is the
    language of a table, Markdown or HTML report. Build the report in the
    same language to have the organizations' names in it too."""
    return _render("status", report, fmt, color, language)


def render_dialogue(
    report: DialogueReport, fmt: str, *, color: bool = False, language: str | None = None
) -> str:
    """The dialogue report as *fmt*, like :func:`render_status`."""
    return _render("dialogue", report, fmt, color, language)


def render_history(
    report: HistoryReport, fmt: str, *, color: bool = False, language: str | None = None
) -> str:
    """An organization's history as *fmt*, like :func:`render_status`."""
    return _render("history", report, fmt, color, language)


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'outreach.reports' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
