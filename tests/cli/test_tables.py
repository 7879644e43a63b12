"""Tables as a reader sees them: whole values when piped to a file, columns
cut with '…' only on a terminal, and aligned by display width (Chinese
characters take two columns, combining accents none)."""

from __future__ import annotations

from outreach.cli.output import display_width, render_table

ROWS = [
    {"org": "东盟", "name": "Amina Diallo", "email": "secretary-general.office@asean.example"},
    {"org": "LAS", "name": "جامعة الدول العربية", "email": "sg@las.example"},
    {"org": "UE", "name": "Ce\u0301cile Dupont", "email": "cabinet@eu.example"},
]


def test_a_piped_table_keeps_every_value_whole() -> None:
    text = render_table(ROWS, ["org", "name", "email"], None)
    assert "secretary-general.office@asean.example" in text
    assert "…" not in text


def test_on_a_narrow_terminal_the_widest_columns_are_cut_with_an_ellipsis() -> None:
    text = render_table(ROWS, ["org", "name", "email"], 40)
    assert "…" in text
    assert all(display_width(line) <= 40 for line in text.splitlines())


def test_columns_line_up_by_display_width() -> None:
    lines = render_table(ROWS, ["org", "name", "email"], None).splitlines()
    # the e-mail column starts at the same column on every line
    starts = []
    for line, email in zip(lines[1:], [r["email"] for r in ROWS], strict=True):
        starts.append(display_width(line[: line.index(email)]))
    assert len(set(starts)) == 1
    assert display_width("东盟") == 4 and display_width("Ce\u0301cile") == 6
