"""Sending commands attached to the ``letters`` group: send, confirm, resend, mark-sent.

Placeholder until the sending work lands: ``COMMANDS`` lists the click
commands that ``outreach.cli.letters`` adds to its group.
"""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
