"""Dialogues through the CLI: add, list, show, edit."""

from __future__ import annotations


def test_dialogues_add_list_show_edit(run) -> None:
    run(
        "dialogues",
        "add",
        "ga-2012",
        "--title",
        "RtoP dialogue",
        "--date",
        "tba",
        "--report-symbol",
        "A/66/874-S/2012/578",
    )
    shown = run("dialogues", "show", "ga-2012")
    assert "to be announced" in shown.stdout
    run("dialogues", "edit", "ga-2012", "--date", "2012-09-05", "--states-spoke", "56")
    shown = run("dialogues", "show", "ga-2012", "--format", "json")
    assert '"date": "2012-09-05"' in shown.stdout and '"states_spoke": 56' in shown.stdout
    assert "ga-2012" in run("dialogues", "list").stdout
    bad = run("dialogues", "edit", "ga-2012", "--date", "5 Sept", expect=2)
    assert "YYYY-MM-DD" in bad.stderr
