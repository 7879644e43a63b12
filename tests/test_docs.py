"""The README stays true: its CLI reference matches the code's --help, its
walk-through runs as written, and LICENSE is the licence pyproject names."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

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


# --- the README's walk-through, run as a newcomer would ------------------------

WALKTHROUGH = "<!-- walkthrough -->"
_HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")


def walkthrough_commands(text: str) -> list[str]:
    """The commands of the shell blocks marked ``<!-- walkthrough -->``, in
    order: a command continued with a trailing backslash, or carrying a here
    document, is one command; blank and comment lines are left out."""
    commands: list[str] = []
    for part in text.split("\n" + WALKTHROUGH + "\n")[1:]:
        assert part.startswith("```sh\n"), f"{WALKTHROUGH} must be followed by a ```sh block"
        lines = iter(part[len("```sh\n") : part.index("\n```\n")].split("\n"))
        for line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            command = [line]
            while command[-1].endswith("\\"):
                command.append(next(lines))
            heredoc = _HEREDOC.search(line)
            if heredoc:
                while command[-1] != heredoc[1]:
                    command.append(next(lines))
            commands.append("\n".join(command))
    return commands


def test_walkthrough_commands_are_found_whole() -> None:
    text = README.read_text(encoding="utf-8")
    commands = walkthrough_commands(text)
    assert commands[0].startswith("mkdir -p ") and " && cd " in commands[0]
    heredoc = next(c for c in commands if c.startswith("cat > addresses.csv"))
    assert heredoc.endswith("\nEOF") and "\nASEAN," in heredoc
    create = next(c for c in commands if c.startswith("outreach campaigns create"))
    assert "\\\n" in create and "--org ASEAN" in create
    # The steps a newcomer must see: both channels, a reply and the report.
    for needed in (
        "outreach init --with-directory",
        "outreach letters send --campaign third-pillar --send",
        "outreach letters mark-sent --campaign third-pillar --channel post",
        "outreach responses log --org GCC",
        "outreach report status --campaign third-pillar",
    ):
        assert any(c.startswith(needed) for c in commands), needed
    # No date written into the walk-through goes stale.
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", "\n".join(commands))


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    from .mailfixtures import smtp_server

    yield from smtp_server()


@pytest.mark.slow
@pytest.mark.no_database
def test_readme_walkthrough_runs_step_by_step(tmp_path, smtp) -> None:
    """Every walk-through command runs in sh, as written, one after another
    in an empty home folder with the installed `outreach` script; each must
    exit 0. The shell's exported variables and folder carry over from one
    command to the next, as in a terminal. The SMTP settings the README asks
    the reader to export stand in the environment, pointing at a server on
    loopback."""
    scripts = Path(sys.executable).parent
    assert (scripts / "outreach").is_file(), f"no outreach console script in {scripts}"
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PATH=f"{scripts}{os.pathsep}{env.get('PATH', '')}",
        OUTREACH_SMTP_HOST=smtp.host,
        OUTREACH_SMTP_PORT=str(smtp.port),
        OUTREACH_SMTP_SECURITY="none",
    )
    state_file = tmp_path / "shell-state.json"
    dump_state = (
        f"{shlex.quote(sys.executable)} -c 'import json, os, sys; "
        'json.dump({"env": dict(os.environ), "cwd": os.getcwd()}, open(sys.argv[1], "w"))\' '
        f"{shlex.quote(str(state_file))}"
    )
    cwd, outputs = home, {}
    for command in walkthrough_commands(README.read_text(encoding="utf-8")):
        script = f"{command}\nstatus=$?\n{dump_state}\nexit $status\n"
        run = subprocess.run(
            ["sh", "-c", script],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        print(f"$ {command}\n{run.stdout}{run.stderr}")
        assert run.returncode == 0, (
            f"README walk-through step failed (exit {run.returncode}):\n$ {command}\n"
            f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
        )
        state = json.loads(state_file.read_text(encoding="utf-8"))
        env, cwd = state["env"], Path(state["cwd"])
        outputs[command] = run.stdout + run.stderr

    folder = home / "coalition"
    assert cwd == folder and (folder / "outreach.db").is_file()
    # Two letters by e-mail reached the server (each copied to the archive) ...
    assert smtp.recorder.count() == 2
    assert {r for m in smtp.recorder.received for r in m.rcpt_tos} == {
        "sg-office@gcc.example",
        "sg@oas.example",
        "archive@coalition.example",
    }
    # ... two by post are printed in one PDF and recorded as sent.
    assert (folder / "print" / "third-pillar-all.pdf").is_file()
    assert sorted(p.name for p in (folder / "letters").iterdir()) == [
        "ASEAN.pdf",
        "AU.pdf",
        "GCC.pdf",
        "OAS.pdf",
    ]
    marked = next(v for k, v in outputs.items() if "letters mark-sent" in k)
    assert "Marked 2 letter(s) as sent by post" in marked
    # The report: four letters sent today, GCC's reply, nothing overdue, and
    # the dialogue weeks ahead (not years behind).
    report = outputs["outreach report status --campaign third-pillar"]
    assert "4 sent" in report and "1 answered" in report and "0 overdue" in report
    assert "supportive" in report and re.search(r"\(in 5[5-7] days\)", report)
    assert "<html" in (folder / "status.html").read_text(encoding="utf-8").lower()
