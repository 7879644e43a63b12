"""The plan of an import: every record checked, matched against what is
stored (read once, in bulk) and counted, before anything is written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.directory.cleaning import clean_contact, clean_organization
from outreach.directory.fields import BOOL_FIELDS, CONTACT_FIELDS, LIST_FIELDS, ORG_FIELDS
from outreach.directory.i18n import merge_i18n
from outreach.directory.importing.columns import Record
from outreach.directory.lookup import acronym_spellings, acronym_suggestion
from outreach.schema.models import Contact, Organization, OrgKind

# --- results --------------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    path: str
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0
    #: Counts per kind of record: {"organizations": {"created": 1, ...}, "contacts": {...}}
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    #: ``(action, kind, description)`` for every record, in file order.
    actions: list[tuple[str, str, str]] = field(default_factory=list)
    #: Problem lines of rejected rows (with *skip_invalid*).
    problems: list[str] = field(default_factory=list)
    rejects_path: str | None = None
    #: How the file was read, when that is worth saying: ``"read as cp1252
    #: (Windows Western): the file is not UTF-8"``, ``"read sheet 'Contacts'"``.
    notes: list[str] = field(default_factory=list)
    #: The codec a text file was read with (``"utf-8"``, ``"cp1252"``,
    #: ``"utf-16-le"``...); ``None`` for a workbook.
    encoding: str | None = None

    def count(self, action: str, kind: str, description: str, *, keep: bool) -> None:
        setattr(self, action, getattr(self, action) + 1)
        per = self.by_kind.get(kind)
        if per is None:
            per = self.by_kind[kind] = {}
        per[action] = per.get(action, 0) + 1
        if keep:
            self.actions.append((action, kind, description))

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        parts = [
            f"{self.created} {verb}created",
            f"{self.updated} {verb}updated",
            f"{self.unchanged} unchanged",
        ]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (already there)")
        parts.append(f"{self.rejected} rejected")
        return ", ".join(parts)


# --- planning -------------------------------------------------------------------

#: The stored columns read for matching, in the order the bulk inserts build
#: their rows: the user's fields, with the id, the organization's id and the
#: folded keys (``organization`` is the contact's organization's acronym).
MATCH_ORG_COLUMNS = ("id", "acronym", "acronym_key", *ORG_FIELDS[1:], "i18n", "parent_id")
_AFTER_EMAIL = CONTACT_FIELDS.index("email") + 1
#: Acronyms no organization has that an import suggests others for (the rest get none).
NEAR_AT_MOST = 100
MATCH_CONTACT_COLUMNS = (
    "id",
    "organization_id",
    *CONTACT_FIELDS[1:_AFTER_EMAIL],
    "email_key",
    *CONTACT_FIELDS[_AFTER_EMAIL:],
    "honorific",
    "preferred_channel",
    "i18n",
    "forgotten_at",
)


def _import_i18n(stored: Any, given: Any, *, fill: bool = False) -> dict[str, Any]:
    """An import's per-language text over what is stored: what it gives is set,
    nothing is removed (an empty cell never erases); with *fill*, only the
    texts not stored yet are added."""
    adds = {
        lang: {k: v for k, v in entry.items() if v is not None}
        for lang, entry in (given or {}).items()
    }
    if fill:
        return merge_i18n(adds, stored or {})
    return merge_i18n(stored or {}, adds)


def _fill_only(current: Mapping[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """*values* less the fields *current* already holds (``on_match="fill"``:
    the shipped directory completes a directory and never overrides an edit)."""
    always = ("acronym", "name", "organization", "i18n")
    unset = (None, "", [], OrgKind.OTHER, "other")
    return {
        fld: new
        for fld, new in values.items()
        if fld.startswith("_")
        or fld in always
        or current.get(fld) in unset
        or (fld in BOOL_FIELDS and not current.get(fld))
    }


@dataclass
class _Org:
    id: int | None
    values: dict[str, Any]
    line: int | None = None
    rejected: bool = False


class Planner:
    def __init__(
        self,
        session: Session,
        path: str,
        on_match: str,
        result: ImportResult,
        keep_actions: bool,
    ) -> None:
        self.session = session
        self.path = path
        self.on_match = on_match
        self.result = result
        self.keep_actions = keep_actions
        self.problems: list[str] = []
        self.cache: dict[str, dict[str, Any]] = {}
        self.rejects: list[tuple[Record, list[str]]] = []
        self._load_existing()
        # plans
        self.new_orgs: dict[str, _Org] = {}  # acronym_key -> org to create
        self.org_updates: list[tuple[_Org, dict[str, Any], dict[str, list[Any]]]] = []
        self.new_contacts: list[dict[str, Any]] = []
        self.contact_updates: list[tuple[dict[str, Any], dict[str, Any], dict[str, list[Any]]]] = []
        self.parent_updates: list[tuple[_Org, _Org | None]] = []
        # duplicates inside the file
        self.seen_org_keys: dict[str, int] = {}
        self.seen_org_names: dict[str, int] = {}
        self.seen_emails: dict[str, int] = {}
        self.seen_names: dict[tuple[Any, str], int] = {}
        self.rejected_orgs: set[str] = set()
        self.quiet_created = 0
        #: Suggestions for acronyms no organization has, by folded acronym.
        self.near: dict[str, str] = {}

    def finish(self) -> None:
        """Add the contacts created without a line in ``actions`` to the counts."""
        if self.quiet_created:
            result = self.result
            result.created += self.quiet_created
            per = result.by_kind.setdefault("contact", {})
            per["created"] = per.get("created", 0) + self.quiet_created
            self.quiet_created = 0

    def _load_existing(self) -> None:
        session = self.session
        self.orgs_by_key: dict[str, _Org] = {}
        self.orgs_by_name: dict[str, _Org] = {}
        self.orgs_by_id: dict[int, _Org] = {}
        org_table = Organization.__table__
        for row in session.execute(sa.select(*[org_table.c[c] for c in MATCH_ORG_COLUMNS])):
            values = row._asdict()
            org = _Org(values["id"], values)
            self.orgs_by_key[values["acronym_key"]] = org
            self.orgs_by_name.setdefault(values["name"].casefold(), org)
            self.orgs_by_id[values["id"]] = org
        for org in self.orgs_by_id.values():
            parent_id = org.values.pop("parent_id")
            parent = self.orgs_by_id.get(parent_id) if parent_id is not None else None
            org.values["parent"] = parent.values["acronym"] if parent is not None else None
            org.values["_parent"] = parent
        self.contacts_by_email: dict[str, dict[str, Any]] = {}
        self.contacts_by_name: dict[tuple[Any, str], dict[str, Any]] = {}
        table = Contact.__table__
        for row in session.execute(sa.select(*[table.c[c] for c in MATCH_CONTACT_COLUMNS])):
            values = row._asdict()
            if values["forgotten_at"] is not None:
                continue
            if values["email_key"]:
                self.contacts_by_email[values["email_key"]] = values
            self.contacts_by_name.setdefault(
                (values["organization_id"], values["name"].casefold()), values
            )

    # -- problems --

    def _reject(self, record: Record, issues: list[tuple[str, str]]) -> None:
        lines = []
        for fld, message in issues:
            label = record.labels.get(fld, fld) if fld else None
            where = f"{self.path}:{record.line}" if record.line else self.path
            lines.append(f"{where}: {label}: {message}" if label else f"{where}: {message}")
        self.problems.extend(lines)
        self.rejects.append((record, lines))
        self.result.count("rejected", record.kind, "", keep=False)

    # -- organizations --

    def org(self, record: Record) -> None:
        if record.error is not None:
            self._reject(record, [("", record.error)])
            self._reject_children(record, "its organization row was rejected")
            return
        values, issues = clean_organization(record.values, self.cache)
        for req in ("acronym", "name"):
            if req not in record.values and not any(f == req for f, _ in issues):
                issues.append((req, "is required (the cell is empty)"))
        acronym_key = values["acronym"].casefold() if values.get("acronym") else None
        name_key = values["name"].casefold() if values.get("name") else None
        if acronym_key and acronym_key in self.seen_org_keys:
            issues.append(("acronym", f"repeats line {self.seen_org_keys[acronym_key]}"))
        elif name_key and name_key in self.seen_org_names:
            issues.append(("name", f"repeats line {self.seen_org_names[name_key]}"))
        match = None
        if acronym_key and name_key:
            by_key = self.orgs_by_key.get(acronym_key)
            by_name = self.orgs_by_name.get(name_key)
            if by_key and by_name and by_key is not by_name:
                issues.append(
                    (
                        "name",
                        f"is the name of {by_name.values['acronym']} but the acronym is "
                        f"{by_key.values['acronym']}'s; merge them first",
                    )
                )
            match = by_key or by_name
            if match is not None and match.id is None and not issues:  # planned earlier
                issues.append(("acronym", f"repeats line {match.line}"))
        if not issues and match is not None and self.on_match == "error":
            issues.append(
                ("acronym", f"{match.values['acronym']} already exists (matches are refused)")
            )
        if acronym_key:
            self.seen_org_keys.setdefault(acronym_key, record.line)
        if name_key:
            self.seen_org_names.setdefault(name_key, record.line)
        parent = self._parent(values, match, issues) if not issues else None
        if issues:
            self._reject(record, issues)
            if acronym_key:
                self.rejected_orgs.add(acronym_key)
            self._reject_children(record, "its organization was rejected")
            return
        if parent is not None:
            values["_parent"] = parent
        if "i18n" in values:
            stored = match.values.get("i18n") if match is not None else None
            values["i18n"] = _import_i18n(stored, values["i18n"], fill=self.on_match == "fill")
        if match is not None and self.on_match == "fill":
            values = _fill_only(match.values, values)
        label = f"{values['acronym']} ({values['name']})"
        if match is None:
            values["kind"] = values.get("kind") or OrgKind.OTHER
            org = _Org(None, values, record.line)
            self.new_orgs[acronym_key] = org
            self.orgs_by_key[acronym_key] = org
            self.orgs_by_name.setdefault(name_key, org)
            self.result.count("created", "organization", label, keep=self.keep_actions)
        else:
            org = match
            self.orgs_by_key[acronym_key] = org
            changes = _diff(match.values, values)
            if "parent" in changes:
                self.parent_updates.append((match, parent))
            if not changes:
                self.result.count("unchanged", "organization", label, keep=self.keep_actions)
            elif self.on_match == "skip":
                self.result.count("skipped", "organization", label, keep=self.keep_actions)
            else:
                self.org_updates.append((match, values, changes))
                self.result.count(
                    "updated",
                    "organization",
                    f"{label}: {', '.join(changes)}",
                    keep=self.keep_actions,
                )
        for child in record.contacts:
            child.values.setdefault("organization", values["acronym"])
            self.contact(child)

    def _parent(
        self, values: dict[str, Any], match: _Org | None, issues: list[tuple[str, str]]
    ) -> _Org | None:
        """The organization a row's ``parent`` names (stored, or earlier in the
        file); a name it lacks, or a circle of parents, goes into *issues*."""
        ref = values.get("parent")
        if not ref:
            values.pop("parent", None)
            return None
        if ref.casefold() == values["acronym"].casefold():
            issues.append(("parent", f"{ref} would make a circle of parents (itself)"))
            return None
        parent = self.orgs_by_key.get(ref.casefold()) or self.orgs_by_name.get(ref.casefold())
        if parent is None:
            issues.append(
                (
                    "parent",
                    f"no organization {ref!r}{self._near(ref)}: add it first, "
                    "or put its row before its organs",
                )
            )
            return None
        values["parent"] = parent.values["acronym"]
        own = values["acronym"].casefold()
        chain: _Org | None = parent
        for _ in range(len(self.orgs_by_key) + 1):
            if chain is None:
                break
            if chain is match or chain.values["acronym"].casefold() == own:
                issues.append(("parent", f"{ref} would make a circle of parents"))
                return None
            chain = chain.values.get("_parent")
        return parent

    def _near(self, ref: str) -> str:
        """``" (did you mean AU?)"`` for an acronym no organization has, from
        those stored and those the file adds; worked out for the first
        :data:`NEAR_AT_MOST` such names only, so a file of them costs no more."""
        key = ref.strip().casefold()
        if key not in self.near:
            if len(self.near) >= NEAR_AT_MOST:
                return ""
            known = ((o.values["acronym"], o.values.get("i18n")) for o in self.orgs_by_key.values())
            self.near[key] = acronym_suggestion(None, ref, acronym_spellings(known))
        return self.near[key]

    def _reject_children(self, record: Record, why: str) -> None:
        for child in record.contacts:
            self._reject(child, [("", why)])

    # -- contacts --

    def _resolve_org(self, ref: str, name: str | None) -> tuple[_Org | None, str | None]:
        key = ref.casefold()
        org = self.orgs_by_key.get(key) or self.orgs_by_name.get(key)
        if org is not None:
            if (
                name
                and org.id is None
                and org.values.get("_from_contact")
                and org.values["name"] != name.strip()
            ):
                return None, (
                    f"new organization {ref} is given the name {org.values['name']!r} "
                    f"on line {org.line}; use one name"
                )
            return org, None
        if key in self.rejected_orgs:
            return None, f"organization {ref} was rejected on another line"
        if name:
            org_values, issues = clean_organization({"acronym": ref, "name": name})
            if issues:
                return None, "; ".join(f"{f}: {m}" for f, m in issues)
            org_values["kind"] = OrgKind.OTHER
            org_values["_from_contact"] = True
            org = _Org(None, org_values)
            return org, None
        return None, (
            f"no organization {ref!r}{self._near(ref)}: add it first (`outreach orgs add`), "
            "or give its full name in an organization_name column to create it"
        )

    def contact(self, record: Record) -> None:
        if record.error is not None:
            self._reject(record, [("", record.error)])
            return
        raw = record.values
        org_name = raw.pop("organization_name", None)
        values, issues = clean_contact(raw, self.cache)
        for req in ("organization", "name"):
            if req not in raw and not any(f == req for f, _ in issues):
                issues.append((req, "is required (the cell is empty)"))
        org = None
        ref = values.get("organization")
        if ref:
            org = self.orgs_by_key.get(ref.casefold())
            if org is None or (org.id is None and org_name and org_name != org.values["name"]):
                org, why = self._resolve_org(ref, org_name if isinstance(org_name, str) else None)
                if why:
                    issues.append(("organization", why))
        email_key = values["email"].casefold() if values.get("email") else None
        org_token: Any = (org.id if org.id is not None else id(org)) if org else None
        name_key = (org_token, values["name"].casefold()) if values.get("name") and org else None
        if email_key and email_key in self.seen_emails:
            issues.append(("email", f"repeats line {self.seen_emails[email_key]}"))
        elif name_key and name_key in self.seen_names:
            issues.append(("name", f"repeats line {self.seen_names[name_key]} (same organization)"))
        match = None if issues else self._contact_match(org, email_key, name_key, issues)
        if email_key:
            self.seen_emails.setdefault(email_key, record.line)
        if name_key:
            self.seen_names.setdefault(name_key, record.line)
        if issues:
            self._reject(record, issues)
            return
        assert org is not None
        if org.id is None and org.values["acronym"].casefold() not in self.new_orgs:
            self._plan_org_of_contact(org, record.line)
        values["_org"] = org
        if match is None:
            if "i18n" in values:
                values["i18n"] = _import_i18n(None, values["i18n"])
            self.new_contacts.append(values)
            if self.keep_actions:
                label = f"{values['name']} ({org.values['acronym']})"
                self.result.count("created", "contact", label, keep=True)
            else:
                self.quiet_created += 1  # counted in finish(): this is the hot path
            return
        self._plan_contact_update(record, values, org, match)

    def _contact_match(
        self,
        org: _Org | None,
        email_key: str | None,
        name_key: tuple[Any, str] | None,
        issues: list[tuple[str, str]],
    ) -> dict[str, Any] | None:
        """The stored contact a row matches (by e-mail, else by organization and
        name); a contradiction between the two, or a match under ``--on-match
        error``, goes into *issues*."""
        by_email = self.contacts_by_email.get(email_key) if email_key else None
        by_name = (
            self.contacts_by_name.get((org.id, name_key[1]))
            if org is not None and org.id is not None and name_key
            else None
        )
        if by_email and by_name and by_email is not by_name:
            issues.append(
                (
                    "email",
                    f"belongs to contact #{by_email['id']} but the name matches "
                    f"#{by_name['id']}; merge them first (`outreach contacts merge`)",
                )
            )
        match = by_email or by_name
        if match is not None and self.on_match == "error" and not issues:
            issues.append(
                (
                    "email" if by_email else "name",
                    f"contact #{match['id']} already exists (matches are refused)",
                )
            )
        return match

    def _plan_org_of_contact(self, org: _Org, line: int) -> None:
        """A new organization named by a contact row (with its full name) is created."""
        org.line = line
        key = org.values["acronym"].casefold()
        self.new_orgs[key] = org
        self.orgs_by_key[key] = org
        self.orgs_by_name.setdefault(org.values["name"].casefold(), org)
        self.result.count(
            "created",
            "organization",
            f"{org.values['acronym']} ({org.values['name']})",
            keep=self.keep_actions,
        )

    def _plan_contact_update(
        self, record: Record, values: dict[str, Any], org: _Org, match: dict[str, Any]
    ) -> None:
        """A row matching a stored contact: updated, skipped, unchanged, or refused
        when the contact is at another organization."""
        if match["organization_id"] != org.id:
            # The address is already a contact at another organization: moving
            # the contact (with its letters and replies) is not for an import
            # to decide quietly.
            other = self.orgs_by_id[match["organization_id"]].values["acronym"]
            self._reject(
                record,
                [
                    (
                        "email",
                        f"{values.get('email')} belongs to {match['name']} at {other}; "
                        f"fix the row, or move the contact first with "
                        f"`outreach contacts edit {values.get('email')} --org "
                        f"{org.values['acronym']}`",
                    )
                ],
            )
            return
        label = f"{values['name']} ({org.values['acronym']})"
        del values["organization"]
        fill = self.on_match == "fill"
        if "i18n" in values:
            values["i18n"] = _import_i18n(match.get("i18n"), values["i18n"], fill=fill)
        if fill:
            values = _fill_only(match, values)
        changes = _diff(match, values, skip=("_org",))
        if fill:
            _drop_shipped_salutation(match, values, changes)
        if not changes:
            self.result.count("unchanged", "contact", label, keep=self.keep_actions)
        elif self.on_match == "skip":
            self.result.count("skipped", "contact", label, keep=self.keep_actions)
        else:
            self.contact_updates.append((match, values, changes))
            self.result.count(
                "updated", "contact", f"{label}: {', '.join(changes)}", keep=self.keep_actions
            )


def _drop_shipped_salutation(
    match: Mapping[str, Any], values: dict[str, Any], changes: dict[str, list[Any]]
) -> None:
    """An older shipped directory put its English salutation in the base
    column, where it would open letters in every language: when the file now
    gives that very text as the English one (``i18n.en.salutation``), the base
    column is cleared."""
    english = ((values.get("i18n") or {}).get("en") or {}).get("salutation")
    if english and match.get("salutation") == english and "salutation" not in values:
        values["salutation"] = None
        changes["salutation"] = [english, None]


def _plain(value: Any) -> Any:
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value
    return value


def _diff(
    current: Mapping[str, Any], values: Mapping[str, Any], skip: Sequence[str] = ()
) -> dict[str, list[Any]]:
    """Fields of *values* that hold something and differ from *current*."""
    changes: dict[str, list[Any]] = {}
    for fld, new in values.items():
        if fld in skip or fld.startswith("_") or new is None or new == []:
            continue
        old = current.get(fld)
        if fld in LIST_FIELDS:
            old = list(old or [])
        elif fld in BOOL_FIELDS:
            old = bool(old)
        elif fld in ("email", "acronym") and old and old.casefold() == new.casefold():
            continue  # the same address or acronym; keep it as it was first written
        if _plain(old) != _plain(new):
            changes[fld] = [_plain(old), _plain(new)]
    return changes
