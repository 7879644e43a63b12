"""A coordinator in a separate process: runs a list of ``outreach`` commands.

Used by tests/test_concurrency.py, which starts several of these at once
against one database. Run as a script::

    python tests/_cli_worker.py JOBS.json

JOBS.json holds ``{"start_at": EPOCH, "commands": [[arg, ...], ...]}``. The
worker imports the CLI, waits until *start_at* (so that all workers begin
together), runs every command through the real Click entry point in this
process, and prints one JSON line per command: its exit code, its output and
the traceback of any exception that escaped the CLI's error handling.
"""

from __future__ import annotations

import json
import sys
import time
import traceback


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        jobs = json.load(fh)
    from click.testing import CliRunner

    from outreach.cli import cli

    runner = CliRunner()
    delay = jobs["start_at"] - time.time()
    if delay > 0:
        time.sleep(delay)
    for argv in jobs["commands"]:
        started = time.monotonic()
        result = runner.invoke(cli, argv, catch_exceptions=True)
        escaped = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            escaped = "".join(traceback.format_exception(*result.exc_info))
        print(
            json.dumps(
                {
                    "argv": argv,
                    "exit": result.exit_code,
                    "stdout": result.stdout,
                    "stderr": result.stderr,
                    "traceback": escaped,
                    "seconds": round(time.monotonic() - started, 3),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
