"""The names that exist nearest to one that does not: "did you mean ...?".

Every not-found error for a name a user types (a campaign or dialogue slug,
an organization's acronym, a letter template) ends with :func:`suggestion`:
``no campaign 'thrid-pillar' (did you mean third-pillar?)``. The caller
reads the candidates (one query, made only once the lookup has failed) and
passes them here; nothing here touches the database.

Names are compared without case and with surrounding blanks ignored, and at
most :data:`COMPARED_LENGTH` characters of each: a ten-thousand-character
name costs no more than a short one. A candidate is close when it is the
same name in another case or spelling, when it starts with what was typed,
or when :func:`difflib.get_close_matches` says so (in that order). The
wanted text is never repeated; the names suggested are shown with control
characters escaped (:func:`outreach.safetext.for_terminal`), since a
template's name comes from a file name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from outreach.safetext import for_terminal

#: Suggestions at most.
LIMIT = 3
#: Characters of each name compared (slugs and acronyms are shorter).
COMPARED_LENGTH = 100
#: How alike two names must be for difflib (its own default).
CUTOFF = 0.6
#: How far behind the closest a close name may be and still be suggested.
MARGIN = 0.2
#: The shortest typed text that a longer name starting with it is suggested for.
PREFIX_LENGTH = 2


def _key(text: str) -> str:
    return text.strip().casefold()[:COMPARED_LENGTH]


def _nearest(key: str, keys: list[str], limit: int) -> list[str]:
    """difflib's close matches, less those well behind the best: "ecowass"
    is ECOWAS (0.92), not also OAS (0.6)."""
    found = difflib.get_close_matches(key, keys, n=limit, cutoff=CUTOFF)
    if len(found) < 2:
        return found
    scores = [difflib.SequenceMatcher(None, key, k).ratio() for k in found]
    return [k for k, score in zip(found, scores, strict=True) if score >= scores[0] - MARGIN]


def close_matches(
    wanted: str, candidates: Iterable[str] | Mapping[str, str], *, limit: int = LIMIT
) -> list[str]:
    """The candidates nearest to *wanted*, best first, at most *limit*.

    *candidates* are names, or a mapping of spellings to the name each one
    stands for (an organization's acronym in French, ``"UA"``, stands for
    ``"AU"``): the spellings are compared, the names returned, each once."""
    pairs = candidates.items() if isinstance(candidates, Mapping) else ((c, c) for c in candidates)
    by_key: dict[str, list[str]] = {}
    for spelling, name in pairs:
        if not spelling or not name:
            continue
        names = by_key.setdefault(_key(spelling), [])
        if name not in names:
            names.append(name)
    by_key.pop("", None)
    key = _key(wanted or "")
    if not key or not by_key:
        return []
    keys = []
    if key in by_key:  # the same name in another case, or another language's spelling
        keys.append(key)
    if len(key) >= PREFIX_LENGTH:  # "auda" for AUDA-NEPAD, shortest first
        keys += sorted((k for k in by_key if k.startswith(key)), key=lambda k: (len(k), k))[:limit]
    keys += _nearest(key, list(by_key), limit)
    found: list[str] = []
    for k in keys:
        for name in by_key[k]:
            if name not in found:
                found.append(name)
    return found[:limit]


def did_you_mean(wanted: str, candidates: Iterable[str] | Mapping[str, str]) -> str:
    """``"did you mean AU or AUDA-NEPAD?"``, or ``""`` when nothing is close
    (see :func:`close_matches`)."""
    names = [for_terminal(name) for name in close_matches(wanted, candidates)]
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"did you mean {listed}?"


def suggestion(wanted: str, candidates: Iterable[str] | Mapping[str, str]) -> str:
    """:func:`did_you_mean` as the end of an error message:
    ``" (did you mean third-pillar?)"``, or ``""``."""
    phrase = did_you_mean(wanted, candidates)
    return f" ({phrase})" if phrase else ""
