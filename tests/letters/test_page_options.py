"""One run's page choices on the command line (--paper, --window-envelope,
--duplex) over the campaign's page settings (its letter_* variables), for
letters generate, preview and write; bad values refused in one line before
anything is written."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader

from outreach.db import Database
from tests._letters_fixtures import seed

MM = 72 / 25.4


def _size(path: Path) -> tuple[int, int]:
    box = PdfReader(io.BytesIO(path.read_bytes())).pages[0].mediabox
    return round(float(box.width)), round(float(box.height))


def test_paper_from_the_campaign_then_the_option(db: Database, run, tmp_path: Path) -> None:
    seed(db)
    run("campaigns", "edit", "tp", "--set", "letter_paper=letter")
    run("letters", "preview", "--campaign", "tp", "--org", "AU", "--format", "pdf",
        "--out", tmp_path / "us.pdf")  # fmt: skip
    assert _size(tmp_path / "us.pdf") == (612, 792)
    run("letters", "preview", "--campaign", "tp", "--org", "AU", "--format", "pdf",
        "--out", tmp_path / "a4.pdf", "--paper", "a4")  # fmt: skip
    assert _size(tmp_path / "a4.pdf") == (595, 842)


def test_window_envelope_option_moves_the_address(db: Database, run, tmp_path: Path) -> None:
    seed(db)

    def first_line_y(path: Path, text: str) -> float:
        page = PdfReader(io.BytesIO(path.read_bytes())).pages[0]
        found: list[float] = []

        def visit(t, cm, tm, _font, _size) -> None:
            if text in t and not found:
                found.append(float(page.mediabox.height) - (tm[5] * cm[3] + cm[5]))

        page.extract_text(visitor_text=visit)
        return found[0]

    for name, extra in (("plain.pdf", []), ("window.pdf", ["--window-envelope"])):
        run("letters", "preview", "--campaign", "tp", "--org", "OAS", "--format", "pdf",
            "--out", tmp_path / name, *extra)  # fmt: skip
    plain = first_line_y(tmp_path / "plain.pdf", "Secretar")
    window = first_line_y(tmp_path / "window.pdf", "Secretar")
    assert window > plain and 45 * MM <= window <= 90 * MM


def test_generate_combined_duplex_and_write_again(db: Database, run, tmp_path: Path) -> None:
    seed(db)
    out = tmp_path / "out"
    run("letters", "generate", "--campaign", "tp", "--out", out, "--format", "pdf",
        "--combined", "--duplex")  # fmt: skip
    (combined,) = out.glob("*-all.pdf")
    reader = PdfReader(io.BytesIO(combined.read_bytes()))
    # five one-page letters, a blank back after each but the last
    assert len(reader.pages) == 9
    assert [bool(p.extract_text().strip()) for p in reader.pages] == [True, False] * 4 + [True]
    assert len(reader.outline) == 5
    ids = [
        line.split()[0]
        for line in run("letters", "list", "--campaign", "tp").stdout.splitlines()[1:]
    ]
    again = tmp_path / "again"
    run("letters", "write", *ids, "--out", again, "--format", "pdf", "--combined",
        "--paper", "letter")  # fmt: skip
    (combined,) = again.glob("*-all.pdf")
    assert _size(combined) == (612, 792)
    assert sorted(p.name for p in again.iterdir() if p.name.startswith(".")) == []


def test_bad_page_settings_stop_before_anything_is_written(
    db: Database, run, tmp_path: Path
) -> None:
    seed(db)
    bad = run("letters", "preview", "--campaign", "tp", "--org", "AU", "--format", "pdf",
              "--out", tmp_path / "x.pdf", "--paper", "legal", expect=2)  # fmt: skip
    assert "--paper" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "logo.png").write_text("not a picture")
    run("campaigns", "edit", "tp", "--set", f"letter_logo={tmp_path / 'logo.png'}")
    refused = run("letters", "generate", "--campaign", "tp", "--out", tmp_path / "out",
                  "--format", "pdf", expect=1)  # fmt: skip
    assert "letter_logo" in refused.stderr and "not a PNG, JPEG or SVG" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.pdf"))
    assert not (tmp_path / "x.pdf").exists()


def test_the_machine_default_paper_is_read_again_when_its_file_changes(
    tmp_path: Path, monkeypatch
) -> None:
    import os

    from outreach.letters.printing import campaign_page_settings

    monkeypatch.chdir(tmp_path)
    assert campaign_page_settings({}).paper == "a4"
    (tmp_path / "outreach.toml").write_text('[letters]\npaper = "letter"\n')
    assert campaign_page_settings({}).paper == "letter"
    assert campaign_page_settings({"letter_paper": "a4"}).paper == "a4"
    (tmp_path / "outreach.toml").write_text('[letters]\npaper = "a4"\n')
    os.utime(tmp_path / "outreach.toml", ns=(1, 1))  # another stamp, whatever the clock
    assert campaign_page_settings({}).paper == "a4"
