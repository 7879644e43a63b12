"""``outreach.letters`` re-exports its public names lazily; a name is never
shadowed by a submodule of the same name, whatever was imported first."""

from __future__ import annotations


def test_public_names_are_functions_even_after_their_modules_were_imported() -> None:
    code = (
        "import importlib, inspect, outreach.letters as L\n"
        "for m in ('generation', 'previewing', 'review', 'files', 'jobs', 'pipeline',"
        " 'renderer', 'results', 'followups'):\n"
        "    importlib.import_module('outreach.letters.' + m)\n"
        "bad = [n for n in L.__all__ if inspect.ismodule(getattr(L, n))]\n"
        "print('MODULES', bad)\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "MODULES []" in done.stdout
