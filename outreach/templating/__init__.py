"""Letter templates: Jinja2 in the sandbox, in every recipient's language.

Templates are looked up first in the user's folder (``--templates DIR`` or
``$OUTREACH_TEMPLATES``), then in the ``letters/`` folder shipped with
outreach. A campaign names a template such as ``third-pillar``; the files are

* ``third-pillar.md.j2``      the default language (the campaign's, usually English)
* ``third-pillar.fr.md.j2``   the French variant, and so on for each language.

A letter uses the contact's preferred language, else the organization's first
working language that has a variant, else the campaign's default language.

The subject line is the template's ``{% block subject %}``. Templates run in
Jinja's immutable sandbox with ``StrictUndefined``: an unknown variable, a
syntax error or an attempt to reach Python internals raises
:class:`TemplateError` naming the template, the line and the recipient.

The rooms:

* :mod:`~outreach.templating.templates`  the template set: lookup, language
  choice, compiling (with a hash of the sources), :func:`render`
* :mod:`~outreach.templating.sandbox`    the sandbox environment and its loader
* :mod:`~outreach.templating.limits`     each letter's time and size limits
* :mod:`~outreach.templating.filters`    ``format_date`` and ``salutation``
* :mod:`~outreach.templating.context`    :class:`Record`, the sender's keys,
  the reserved names
* :mod:`~outreach.templating.languages`  the one right-to-left table
* :mod:`~outreach.templating.errors`     :class:`TemplateError`, and where in a
  template an error was raised
"""

from __future__ import annotations

from outreach.templating.context import RESERVED, SENDER_KEYS, Record, sender_context
from outreach.templating.errors import LimitExceeded, TemplateError
from outreach.templating.filters import format_date, salutation
from outreach.templating.languages import RTL_LANGUAGES, RTL_SCRIPTS, is_rtl
from outreach.templating.limits import (
    DEFAULT_MAX_SIZE,
    DEFAULT_TIMEOUT,
    ENV_MAX_SIZE,
    ENV_TIMEOUT,
    MAX_PRODUCT,
    WORK_FACTOR,
    RenderLimits,
)
from outreach.templating.sandbox import LetterSandbox, make_environment
from outreach.templating.templates import (
    ENV_TEMPLATES,
    SUFFIX,
    CompiledTemplate,
    Rendered,
    TemplateSet,
    render,
    template_dirs,
)

__all__ = [
    "DEFAULT_MAX_SIZE",
    "DEFAULT_TIMEOUT",
    "ENV_MAX_SIZE",
    "ENV_TEMPLATES",
    "ENV_TIMEOUT",
    "MAX_PRODUCT",
    "RESERVED",
    "RTL_LANGUAGES",
    "RTL_SCRIPTS",
    "SENDER_KEYS",
    "SUFFIX",
    "WORK_FACTOR",
    "CompiledTemplate",
    "LetterSandbox",
    "LimitExceeded",
    "Record",
    "RenderLimits",
    "Rendered",
    "TemplateError",
    "TemplateSet",
    "format_date",
    "is_rtl",
    "make_environment",
    "render",
    "salutation",
    "sender_context",
    "template_dirs",
]
