"""Rendering one job's letter: a campaign's template compiled once per
language, the context every letter shares built once, and the letter made
into a :class:`LetterDoc`; and the Message-IDs new letters get."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

from outreach.addresses import FALLBACK_DOMAIN, ascii_domain
from outreach.letters.jobs import Job
from outreach.letters.localizing import contact_in, organization_in, sender_in
from outreach.letters.printing import campaign_page_settings
from outreach.render.doc import COURTESY_FIELDS, LetterDoc
from outreach.schema.enums import Channel
from outreach.schema.types import variables_for_template
from outreach.templating import Record, TemplateSet, sender_context
from outreach.templating import render as render_template
from outreach.templating.context import FALLBACK_SINK


def _dialogue_context(dialogue: Any) -> Record | None:
    if dialogue is None:
        return None
    return Record(
        slug=dialogue.slug,
        body=dialogue.body.value,
        title=dialogue.title,
        theme=dialogue.theme,
        date=dialogue.date,
        report_symbol=dialogue.report_symbol,
    )


def _campaign_context(campaign: Any, variables: dict[str, Any]) -> Record:
    return Record(
        slug=campaign.slug,
        title=campaign.title,
        signatory=campaign.signatory,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        variables=Record(variables),
    )


class Renderer:
    """Compiles a campaign's template once per language and renders jobs."""

    def __init__(
        self,
        campaign: Any,
        template_name: str,
        *,
        dialogue: Any = None,
        templates: str | os.PathLike[str] | None,
        today: dt.date,
        language: str | None = None,
    ) -> None:
        self.set = TemplateSet(templates)
        self.templates = str(templates) if templates is not None else None
        self.variables = dict(campaign.variables or {})
        self.set.check_name(template_name)
        self.name = template_name
        self.default = campaign.default_language or "en"
        self.forced = language
        self._languages: dict[tuple[Any, ...], str] = {}
        self._orgs: dict[tuple[Any, str], Any] = {}
        self._senders: dict[str, Any] = {}
        variables = variables_for_template(dict(campaign.variables or {}))
        #: how the letters are printed (paper, logo, footer...): read once
        self.page = campaign_page_settings(campaign.variables)
        self.base = {
            # Jinja's globals (range, namespace, ...) go in once here, so each
            # letter's context is used as it is (no per-letter merge).
            **self.set.env.globals,
            **variables,
            "vars": variables,
            "campaign": _campaign_context(campaign, variables),
            "dialogue": _dialogue_context(dialogue),
            "sender": sender_context(campaign.sender, campaign.signatory),
            "today": today,
        }

    def doc(
        self, job: Job, compiled: Any, text: Any, *, channel: Channel, address: str | None
    ) -> LetterDoc:
        """*job*'s rendered letter, as generation records it and the output
        formats write it, with its reference (no id, version or Message-ID yet)."""
        return LetterDoc(
            acronym=job.org["acronym"],
            organization=job.org["name"],
            contact=job.contact["name"],
            contact_email=job.contact.get("email"),
            language=compiled.language,
            subject=text.subject,
            body=text.body,
            channel=channel.value,
            to_address=address,
            message_id="",
            sender=self.base["sender"],
            round=job.round,
            campaign=self.base["campaign"]["slug"],
            organization_id=job.org["id"],
            contact_id=job.contact["id"],
            template_name=compiled.filename,
            template_hash=compiled.hash,
            date=self.base["today"],
            page=self.page,
            fallbacks=tuple(getattr(text, "fallbacks", ()) or ()),
            reference=job.reference,
            # what its e-mail needs besides the letter, as a stored letter has it
            # (outreach.letters.review.letter_doc): the same cover note either way
            cc=tuple(job.cc),
            templates=self.templates,
            default_language=self.default,
            contact_details={key: job.contact.get(key) for key in COURTESY_FIELDS},
            variables=self.variables,
        )

    def language_for(self, job: Job) -> str:
        if self.forced:
            return self.forced
        key = (
            job.preferred_language,
            job.contact.get("language") if job.contact else None,
            tuple(job.org["languages"]),
        )
        found = self._languages.get(key)
        if found is None:
            found = self._languages[key] = self._choose(job)
        return found

    def _choose(self, job: Job) -> str:
        contact_lang = job.contact.get("language") if job.contact else None
        preferred = [job.preferred_language] if job.preferred_language else []
        first = next(
            (
                lang
                for lang in [*preferred, contact_lang]
                if lang
                and (lang == self.default or self.set.exists(self.set.filename(self.name, lang)))
            ),
            None,
        )
        if first:
            return first
        return self.set.choose_language(
            self.name,
            default=self.default,
            contact_language=None,
            org_languages=job.org["languages"],
        )

    def render(self, job: Job) -> tuple[Any, Any]:
        language = self.language_for(job)
        compiled = self.set.compile(self.name, language, self.default)
        context = dict(self.base)
        org = self._orgs.get((job.org["id"], language))
        if org is None:
            org = self._orgs[(job.org["id"], language)] = organization_in(job.org, language)
        context["organization"] = org
        context["contact"] = contact_in(job.contact, language) if job.contact else None
        context["sender"] = self._sender_in(language)
        context["language"] = language
        context["followup"] = job.followup
        context["cc"] = [Record(entry) for entry in job.cc]
        # set before rendering (outreach.letters.references); "" only for a
        # sent letter from before references, whose rendering is not kept
        context["reference"] = job.reference or ""
        sink: set[tuple[str, str]] = set()
        FALLBACK_SINK[0] = sink
        try:
            text = render_template(compiled, context, recipient=lambda: _who(job))
        finally:
            FALLBACK_SINK[0] = None
        if sink:
            text = text._replace(fallbacks=tuple(sorted(sink)))
        return compiled, text

    def _sender_in(self, language: str) -> Any:
        found = self._senders.get(language)
        if found is None:
            found = self._senders[language] = sender_in(self.base["sender"], language, self.default)
        return found


def _who(job: Job) -> str:
    """The recipient named in a template error message."""
    who = job.org["acronym"]
    if job.contact and job.contact.get("name"):
        who += f" ({job.contact['name']})"
    return who


def message_ids(campaign: Any) -> Callable[[], str]:
    """A maker of unique Message-IDs in the sender's domain."""
    email = str((campaign.sender or {}).get("email") or "")
    domain = ascii_domain(email.rsplit("@", 1)[1]) if "@" in email else FALLBACK_DOMAIN
    domain = "".join(ch for ch in domain if ch.isalnum() or ch in ".-") or FALLBACK_DOMAIN
    suffix = f".{campaign.slug}@{domain}>"
    pool: list[str] = []

    def make() -> str:
        # 128 random bits each, drawn from the OS in batches (uuid4 one by one
        # is a measurable share of a 10,000-letter run)
        if not pool:
            raw = os.urandom(16 * 1024).hex()
            pool.extend(raw[i : i + 32] for i in range(0, len(raw), 32))
        return f"<{pool.pop()}{suffix}"

    return make


def message_id(campaign: Any) -> str:
    return message_ids(campaign)()
