"""Dialogues and campaigns: the UN meetings we work toward and the outreach
efforts ahead of them, with their recipients.

- :mod:`~outreach.campaigns.values`: slugs, dates, language codes, template
  variables and text checks (no database).
- :mod:`~outreach.campaigns.lookup`: finding a campaign or dialogue by id or
  slug, on a Core connection or an ORM session (the one rule).
- :mod:`~outreach.campaigns.activation`: a draft campaign becoming active.
- :mod:`~outreach.campaigns.dialogues`, :mod:`~outreach.campaigns.campaigns`,
  :mod:`~outreach.campaigns.recipients`: the services, on an ORM session.

The names below are loaded on first use (PEP 562), so that the Core paths
(letter generation, reports) that import :mod:`outreach.campaigns.lookup` or
``activation`` do not load the ORM through this package.
"""

from __future__ import annotations

from outreach.lazy import homes_of, lazy_exports

_EXPORTS = {
    "values": (
        "TBA",
        "MAX_VARIABLE_DEPTH",
        "MAX_VARIABLE_VALUES",
        "check_slug",
        "parse_date",
        "parse_body",
        "check_language",
        "load_variables",
        "parse_set",
        "check_text",
        "check_variables",
    ),
    "lookup": ("find_campaign_row", "find_dialogue_row"),
    "dialogues": (
        "DIALOGUE_FIELDS",
        "get_dialogue",
        "list_dialogues",
        "add_dialogue",
        "edit_dialogue",
    ),
    "campaigns": (
        "CAMPAIGN_FIELDS",
        "get_campaign",
        "list_campaigns",
        "create_campaign",
        "edit_campaign",
        "activate_campaign",
        "close_campaign",
        "clone_campaign",
        "campaign_summary",
    ),
    "recipients": (
        "RecipientChange",
        "add_recipients",
        "remove_recipients",
        "list_recipients",
    ),
}
_WHERE = homes_of(_EXPORTS)

__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
