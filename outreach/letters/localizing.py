"""The letter's recipient and sender in the letter's language.

The directory keeps an organization's name and acronym, and a contact's
position and salutation, in one base language (the organization's in English,
as the shipped directory has them; a contact's in their own language, else
English) plus text per language (``i18n``). A letter in French reads the
French text; where there is none it reads the base text, and that fallback is
noted for ``letters check`` (through :class:`~outreach.templating.context.Localized`),
but only when the template really used the field.

A salutation is never taken from another language: with none for the
letter's language the template's courteous default is used instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from outreach.templating.context import Localized, Record, localize

ORG_TEXT = ("name", "acronym", "definite")
CONTACT_TEXT = ("position",)
SENDER_TEXT = ("organization", "signatory_title", "address", "place", "name")

#: The language of the organizations' base name and acronym.
ORG_BASE_LANGUAGE = "en"
#: Languages whose sentences put an article before an organization's name:
#: a missing "definite" form there is noted, elsewhere the name is all there is.
ARTICLE_LANGUAGES = frozenset({"en", "fr", "es", "pt", "it", "ca", "de", "nl", "ro"})


def _org_names(org: Mapping[str, Any]) -> Record:
    """Every language's name, acronym and definite form, for templates that
    name the organization in another language than the letter's."""
    texts = org.get("i18n") or {}
    names = {
        ORG_BASE_LANGUAGE: Record(
            name=org.get("name"), acronym=org.get("acronym"), definite=_english_definite(org)
        )
    }
    for lang, entry in texts.items():
        if isinstance(entry, Mapping):
            name = entry.get("name") or org.get("name")
            names[lang] = Record(
                name=name,
                acronym=entry.get("acronym") or org.get("acronym"),
                definite=entry.get("definite") or name,
            )
    return Record(names)


def _english_definite(org: Mapping[str, Any]) -> str | None:
    entry = (org.get("i18n") or {}).get("en") or {}
    if isinstance(entry, Mapping) and entry.get("definite"):
        return str(entry["definite"])
    name = org.get("name")
    return f"the {name}" if name else None


def organization_in(org: Mapping[str, Any], language: str) -> Localized:
    """*org* (a job's organization record) in *language*."""
    base = {key: value for key, value in org.items() if key != "i18n"}
    base["definite"] = None
    values, fallbacks = localize(base, org.get("i18n"), language, ORG_BASE_LANGUAGE, ORG_TEXT)
    if not values.get("definite"):
        if language == ORG_BASE_LANGUAGE or fallbacks.get("name"):
            values["definite"] = _english_definite(org)
            if fallbacks.get("name"):
                fallbacks["definite"] = fallbacks["name"]
        else:
            values["definite"] = values.get("name")
            if language in ARTICLE_LANGUAGES:
                fallbacks["definite"] = "bare"  # the name without its article
    values["names"] = _org_names(org)
    values["original_name"] = org.get("name")
    values["original_acronym"] = org.get("acronym")
    return Localized(values, label="organization", fallbacks=fallbacks)


def contact_in(contact: Mapping[str, Any], language: str) -> Localized:
    """*contact* in *language*: its position there (else the base one, noted),
    and its salutation there only (else None: the courteous default)."""
    texts = contact.get("i18n") or {}
    base_language = contact.get("language") or ORG_BASE_LANGUAGE
    base = {key: value for key, value in contact.items() if key != "i18n"}
    values, fallbacks = localize(base, texts, language, base_language, CONTACT_TEXT)
    own = texts.get(language) if isinstance(texts, Mapping) else None
    salutation = own.get("salutation") if isinstance(own, Mapping) else None
    if not salutation and language == base_language:
        salutation = contact.get("salutation")
    values["salutation"] = salutation or None
    # Who the address block names: a person by name; an office by its name in
    # the letter's language, else by the position it serves (in that language:
    # "Président de la Commission de l'Union africaine"), else its base name.
    if contact.get("kind") == "office":
        own_name = own.get("name") if isinstance(own, Mapping) else None
        if own_name:
            values["addressee"] = own_name
        elif values.get("position") and "position" not in fallbacks:
            values["addressee"] = values["position"]
        else:
            values["addressee"] = contact.get("name")
            if language != base_language:
                fallbacks["addressee"] = base_language
    else:
        values["addressee"] = contact.get("name")
    return Localized(values, label="contact", fallbacks=fallbacks)


def sender_in(sender: Mapping[str, Any], language: str, base_language: str) -> Localized:
    """The campaign's sender details in *language* (``sender["i18n"]``)."""
    texts = sender.get("i18n") if isinstance(sender.get("i18n"), Mapping) else {}
    base = {key: value for key, value in sender.items() if key != "i18n"}
    values, fallbacks = localize(base, texts, language, base_language, SENDER_TEXT)
    return Localized(values, label="sender", fallbacks=fallbacks)
