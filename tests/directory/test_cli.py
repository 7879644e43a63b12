"""The `orgs` and `contacts` commands."""

from __future__ import annotations

import json

import pytest

from ..conftest import table_dump
from ._fixtures import _letter_and_response


def test_cli_orgs_add_list_show_edit(run):
    out = run(
        "orgs",
        "add",
        "OAS",
        "Organization of American States",
        "--kind",
        "regional",
        "--region",
        "americas",
        "--languages",
        "es,en,pt,fr",
        "--hq-country",
        "US",
    ).stdout
    assert "Added OAS" in out
    run(
        "contacts",
        "add",
        "OAS",
        "Office of the Secretary General",
        "--kind",
        "office",
        "--salutation",
        "Your Excellency",
        "--primary",
    )
    listing = run("orgs", "list", "--format", "json").stdout
    (org,) = json.loads(listing)
    assert org["acronym"] == "OAS" and org["languages"] == ["es", "en", "pt", "fr"]
    assert org["contacts"] == 1
    shown = run("orgs", "show", "oas").stdout
    assert "Organization of American States" in shown and "Office of the Secretary General" in shown
    data = json.loads(run("orgs", "show", "OAS", "--format", "json").stdout)
    assert data["contacts"][0]["salutation"] == "Your Excellency"
    assert data["history"] == []
    csv_out = run("orgs", "list", "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "acronym,name,kind,region,hq,languages,parent,contacts"
    edited = run("orgs", "edit", "OAS", "--website", "www.oas.org", "--add-tag", "americas").stdout
    assert "website: - -> https://www.oas.org" in edited
    assert run("orgs", "list", "--tag", "americas", "--format", "csv").stdout.count("\n") == 2


def test_cli_show_history(directory, run):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    out = run("orgs", "show", "AU").stdout
    assert "History" in out
    assert out.index("response") < out.index("letter  ")


def test_cli_errors_are_one_line(directory, run, db_url):
    before = table_dump(db_url)
    result = run("orgs", "show", "NOPE", expect=1)
    assert "Error: no organization 'NOPE'" in result.stderr
    result = run("contacts", "add", "AU", "X", "--email", "bad@", expect=1)
    assert "email:" in result.stderr and "Traceback" not in result.stderr
    result = run("orgs", "add", "AU", "Dup", expect=1)
    assert "already exists" in result.stderr
    assert table_dump(db_url) == before


def test_cli_remove_and_archive(directory, run):
    _letter_and_response(directory, "AU", "amina.diallo@example.org")
    result = run("orgs", "remove", "AU", "--yes", expect=1)
    assert "--force" in result.stderr
    assert "archived" in run("orgs", "remove", "AU", "--yes", "--force").stdout
    assert "AU" not in run("orgs", "list", "--format", "csv").stdout
    assert "AU," in run("orgs", "list", "--archived", "--format", "csv").stdout
    assert "removed" in run("orgs", "remove", "ECOWAS", "--yes").stdout


def test_cli_contacts_commands(directory, run):
    rows = json.loads(run("contacts", "list", "--org", "AU", "--format", "json").stdout)
    assert [r["name"] for r in rows] == [
        "Amina Diallo",
        "Office of the Chairperson of the Commission",
    ]
    shown = json.loads(
        run("contacts", "show", "AMINA.DIALLO@example.org", "--format", "json").stdout
    )
    assert shown["letters"] == 0 and shown["language"] == "fr"
    out = run(
        "contacts",
        "edit",
        "amina.diallo@example.org",
        "--do-not-contact",
        "--reason",
        "asked not to be written to",
    ).stdout
    assert "do_not_contact: no -> yes" in out
    run("contacts", "add", "AU", "A. Diallo")
    dup_id = json.loads(run("contacts", "list", "-s", "A. Diallo", "--format", "json").stdout)[0][
        "id"
    ]
    merged = run("contacts", "merge", "amina.diallo@example.org", str(dup_id), "--yes").stdout
    assert "Merged" in merged
    person = json.loads(run("contacts", "export-person", "amina.diallo@example.org").stdout)
    assert person["contact"]["do_not_contact"] is True
    out = run("contacts", "forget", "amina.diallo@example.org", "--yes").stdout
    assert "forgotten" in out
    run("contacts", "show", "amina.diallo@example.org", expect=1)
    assert "Amina" not in run("contacts", "list", "--archived", "--format", "csv").stdout


@pytest.mark.parametrize("group", ["orgs", "contacts"])
def test_help_for_every_command(run, group):
    from outreach.cli import cli

    assert run(group, "--help").exit_code == 0
    command = cli.get_command(None, group)  # type: ignore[arg-type]
    for name in command.list_commands(None):  # type: ignore[arg-type]
        out = run(group, name, "--help").stdout
        assert "Usage:" in out
