"""What generating letters returns: :class:`GenerateResult`, with the
:class:`Skipped` recipients and the letters as :class:`LetterDoc`\\ s (declared
with the output formats, in :mod:`outreach.render.doc`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from outreach.render.doc import LetterDoc

#: ``progress(done, total)``: *done* of the *total* recipients are done.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Skipped:
    """A recipient that got no letter, and why."""

    acronym: str
    organization_id: int
    contact: str | None
    reason: str


@dataclass
class GenerateResult:
    campaign: str
    created: int = 0
    new_versions: int = 0
    unchanged: int = 0
    frozen: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    letters: list[LetterDoc] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    #: Letters left alone because they were sent or cancelled, as "ACR (status)".
    frozen_list: list[str] = field(default_factory=list)
    #: Unsent letters superseded because their organization is now written
    #: to through another contact (or no one), each saying so.
    superseded: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.new_versions + self.unchanged + self.frozen
