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
    #: Letters not generated because they go by another channel than the one
    #: asked for (left as they were).
    other_channel: int = 0
    #: Unsent letters superseded because their organization is now written
    #: to through another contact (or no one), each saying so.
    superseded: list[str] = field(default_factory=list)

    #: What the letters' checks found (:mod:`outreach.letters.checks`).
    check_errors: int = 0
    check_warnings: int = 0
    #: "ACR (contact): message" for each error and warning, in order.
    check_notes: list[str] = field(default_factory=list)

    def count_checks(self, doc: LetterDoc, findings: list[dict[str, str]]) -> None:
        for finding in findings:
            if finding.get("severity") == "error":
                self.check_errors += 1
            else:
                self.check_warnings += 1
            self.check_notes.append(
                f"{doc.acronym} ({doc.contact}): {finding['severity']}: {finding['message']}"
            )

    @property
    def total(self) -> int:
        return self.created + self.new_versions + self.unchanged + self.frozen
