"""The README stays true: its CLI reference matches the code's --help."""

from __future__ import annotations

from pathlib import Path

from outreach.cli import reference

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_cli_reference_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert reference.splice(text, reference.render()) == text, (
        "README.md's CLI reference is out of date: run "
        "`python -m outreach.cli.reference --write README.md`"
    )


def test_readme_opens_with_the_two_fresh_machine_commands() -> None:
    text = README.read_text(encoding="utf-8")
    run_at, test_at = text.index("<!-- ci:run -->"), text.index("<!-- ci:test -->")
    assert run_at < test_at < text.index("## The database")
    assert "pip install ." in text[run_at:test_at]
    assert "pytest" in text[test_at : text.index("```", text.index("```", test_at) + 3)]


def test_readme_library_example_runs(tmp_path, capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## As a library") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n", 10)]
    code = code.replace('"campaign.db"', repr(str(tmp_path / "campaign.db")))
    code = code.replace('"gcc-letters"', repr(str(tmp_path / "gcc-letters")))
    exec(compile(code, "README.md", "exec"), {})
    assert "1 ['ar']" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / "gcc-letters").iterdir()] == ["GCC.pdf"]


# The SHA-256 of the Apache License 2.0 as the ASF publishes it
# (https://www.apache.org/licenses/LICENSE-2.0.txt), appendix included.
LICENSE_TEXTS = {
    "Apache-2.0": "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30",
}


def test_license_file_is_the_licence_pyproject_names() -> None:
    import hashlib
    import tomllib

    root = README.parent
    metadata = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    expression = metadata["license"]
    assert expression in LICENSE_TEXTS, f"no known text for license {expression!r}"
    text = (root / "LICENSE").read_bytes()
    assert text.lstrip().startswith(b"Apache License\n                           Version 2.0")
    assert hashlib.sha256(text).hexdigest() == LICENSE_TEXTS[expression], (
        "LICENSE is not the unchanged Apache License 2.0 text"
    )
    # hatchling ships LICEN[CS]E* in the wheel by default; an explicit list must keep it.
    files = metadata.get("license-files", ["LICENSE"])
    assert "LICENSE" in files
