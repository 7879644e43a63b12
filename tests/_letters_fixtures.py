"""Shared set-up for the letters tests: a small directory and a campaign,
created directly through the models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from outreach.campaigns import add_dialogue, add_recipients, create_campaign
from outreach.db import Database
from outreach.schema.models import Contact, Organization, OrgKind, Region

ORGS = [
    # acronym, name, kind, region, languages, contact language, e-mail
    (
        "AU",
        "African Union",
        OrgKind.REGIONAL,
        Region.AFRICA,
        ["en", "fr", "ar", "pt"],
        None,
        "sg@au.example",
    ),
    (
        "ECOWAS",
        "Communauté économique des États de l'Afrique de l'Ouest",
        OrgKind.SUBREGIONAL,
        Region.AFRICA,
        ["pt", "fr", "en"],
        None,
        "sg@ecowas.example",
    ),
    ("LAS", "League of Arab States", OrgKind.REGIONAL, Region.MENA, ["ar"], None, "sg@las.example"),
    (
        "OAS",
        "Organization of American States",
        OrgKind.REGIONAL,
        Region.AMERICAS,
        ["es", "en"],
        None,
        "sg@oas.example",
    ),
    (
        "GCC",
        "Gulf Cooperation Council",
        OrgKind.SUBREGIONAL,
        Region.MENA,
        ["ar"],
        "en",
        "sg@gcc.example",
    ),
]


def seed(db: Database, *, template: str = "third-pillar", templates: str | None = None) -> None:
    with db.session() as s:
        for acr, name, kind, region, langs, clang, email in ORGS:
            org = Organization(acronym=acr, name=name, kind=kind, region=region, languages=langs)
            s.add(org)
            s.flush()
            s.add(
                Contact(
                    organization_id=org.id,
                    name=f"Secretary-General of {acr}",
                    position="Secretary-General",
                    email=email,
                    language=clang,
                    is_primary=True,
                )
            )
        add_dialogue(
            s,
            slug="ga-2012",
            title="Informal interactive dialogue on the responsibility to protect",
            date=dt.date(2012, 9, 5),
            report_symbol="A/66/874-S/2012/578",
        )
        create_campaign(
            s,
            slug="tp",
            title="Third pillar",
            dialogue="ga-2012",
            template=template,
            followup_template="third-pillar-reminder" if templates is None else None,
            signatory="Jane Coordinator",
            sender={"organization": "Coalition for RtoP", "email": "info@coalition.example"},
            variables={"reply_by": dt.date(2012, 6, 15)},
            templates=templates,
        )
        add_recipients(s, "tp", kinds=["regional", "sub-regional"])


def failing_template(tmp_path: Path, acronym: str) -> Path:
    """A template folder whose ``mine`` letter breaks (an unknown field, on
    line 5) only when writing to *acronym*: the letters before it render."""
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "mine.md.j2").write_text(
        '{% extends "letterhead.md.j2" %}\n{% block subject %}Hello{% endblock %}\n'
        "{% block body %}\nDear friends,\n"
        f'{{% if organization.acronym == "{acronym}" %}}{{{{ organization.no_such_field }}}}'
        "{% endif %}\n{% endblock %}\n",
        encoding="utf-8",
    )
    return folder


def wording_template(tmp_path: Path) -> Path:
    """A template folder with a ``mine`` letter whose body is "First wording.":
    the file, for a test to change its source."""
    folder = tmp_path / "tpl"
    folder.mkdir()
    tpl = folder / "mine.md.j2"
    tpl.write_text(
        '{% extends "letterhead.md.j2" %}{% block subject %}Hi{% endblock %}'
        "{% block body %}First wording.{% endblock %}\n"
    )
    return tpl
