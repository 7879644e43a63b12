"""Reference patterns: what a campaign may write, and the references they make.

The pattern is a coordinator's text that ends up on every letter, in
subjects and file names: only the named placeholders, read strictly, and
hostile patterns are one-line errors for the field ``reference_pattern``.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.errors import ValidationError
from outreach.letters.references import (
    DEFAULT_PATTERN,
    MAX_PATTERN,
    check_pattern,
    parse_pattern,
    safe_token,
)


def _make(text: str | None, **values) -> str:
    base = {"campaign": "third-pillar-2012", "year": 2012, "seq": 7, "acronym": "AU"}
    return parse_pattern(text).format(**{**base, **values})


def test_the_default_pattern() -> None:
    assert DEFAULT_PATTERN == "{campaign}/{year}/{seq:03}"
    assert _make(None) == "third-pillar-2012/2012/007"
    assert _make(None, seq=1234) == "third-pillar-2012/2012/1234"
    assert check_pattern(None) is None


def test_every_placeholder() -> None:
    pattern = "{CAMPAIGN}-{acronym}-{lang}-R{round}/{year}/{seq:05}/{seq}"
    got = _make(pattern, acronym="G-77 & China", lang="fr", round=2, seq=42)
    assert got == "THIRD-PILLAR-2012-G-77-China-fr-R2/2012/00042/42"
    assert _make("{campaign}.{round:02}.{seq}", round=1) == "third-pillar-2012.01.7"
    # literal braces are written doubled
    assert _make("{{{seq}}}") == "{7}"
    # surrounding spaces are not part of the pattern
    assert check_pattern("  OSAA/{year}/{seq:04}  ") == "OSAA/{year}/{seq:04}"


def test_acronyms_are_made_safe() -> None:
    assert safe_token("G-77 & China") == "G-77-China"
    assert safe_token("Ｃ.Ａ.Ｎ.") == "C-A-N"
    assert safe_token("Comunidad Andina – CAN") == "Comunidad-Andina-CAN"
    assert safe_token("SICA\u202e\x1b[31m") == "SICA-31m"
    assert safe_token("../../etc/passwd") == "etc-passwd"
    assert safe_token("ЕАЭС") == ""
    assert _make("{acronym}/{seq}", acronym="ЕАЭС") == "org/7"
    assert _make("{acronym}/{seq}", acronym="Éducation") == "Education/7"


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("{campaign}/{year}", "has no {seq}"),
        ("{{seq}}", "has no {seq}"),
        ("{campaign.__class__}/{seq}", "use only {campaign}"),
        ("{campaign.__class__.__mro__}/{seq}", "use only {campaign}"),
        ("{seq.__class__.__init__.__globals__}", "use only {campaign}"),
        ("{seq[0]}", "use only {campaign}"),
        ("{campaign[__class__]}/{seq}", "use only {campaign}"),
        ("{0}/{seq}", "use only {campaign}"),
        ("{}/{seq}", "use only {campaign}"),
        ("{ seq }", "use only {campaign}"),
        ("{SEQ}", "use only {campaign}"),
        ("{ѕeq}", "use only {campaign}"),  # a Cyrillic s
        ("{slug}/{seq}", "use only {campaign}"),
        ("{organization}/{seq}", "use only {campaign}"),
        ("{seq!r}", "without '!r'"),
        ("{seq!s}", "without '!s'"),
        ("{campaign!a}/{seq}", "without '!a'"),
        ("{seq:x}", "zero-padded width"),
        ("{seq:3}", "zero-padded width"),
        ("{seq:>3}", "zero-padded width"),
        ("{seq:.0e}", "zero-padded width"),
        ("{seq:,}", "zero-padded width"),
        ("{seq:013}", "zero-padded width"),
        ("{seq:0100000000}", "zero-padded width"),
        ("{seq:{campaign}}", "zero-padded width"),
        ("{round:c}/{seq}", "zero-padded width"),
        ("{year:04}/{seq}", "without a format"),
        ("{campaign:>90}/{seq}", "without a format"),
        ("{seq", "out of place"),
        ("seq}", "out of place"),
        ("{campaign}/{seq}}", "out of place"),
        ("{{campaign}/{seq}", "out of place"),
        ("{campaign{seq}}", "out of place"),
        ("x" * (MAX_PATTERN + 1) + "{seq}", "characters long"),
        ("{seq}" + " " * 10 + "x" * MAX_PATTERN, "characters long"),
        ("{seq}\n", "control or spacing character"),
        ("{seq}\tA", "control or spacing character"),
        ("{seq}\x00", "control or spacing character"),
        ("\x1b[2J{seq}", "control or spacing character"),
        ("{seq}\u202egnp.exe", "control or spacing character"),
        ("{seq}\u2028", "control or spacing character"),
        ("{seq}\u00a0x", "control or spacing character"),
        ("{seq}\u200b", "control or spacing character"),
        ("{seq}\ud800", "control or spacing character"),
        ("{seq}\x85", "control or spacing character"),
    ],
)
def test_hostile_patterns_are_one_line_errors(pattern: str, said: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_pattern(pattern)
    error = caught.value
    assert error.field == "reference_pattern"
    assert said in error.message
    assert error.message.startswith("the reference pattern")
    assert "\n" not in error.message and "\x1b" not in error.message
    assert len(error.message) < 300


def test_a_pattern_that_is_not_text_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        check_pattern(42)  # type: ignore[arg-type]
    assert caught.value.field == "reference_pattern"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=100))
def test_any_text_is_either_refused_in_one_line_or_makes_a_plain_reference(text: str) -> None:
    try:
        pattern = parse_pattern(text)
    except ValidationError as exc:
        assert exc.field == "reference_pattern"
        assert "\n" not in exc.message
        return
    assert "seq" in pattern.uses
    made = pattern.format(campaign="tp", year=2012, seq=3, acronym="AU", round=1, lang="fr")
    assert made.isprintable()


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=10**9))
def test_different_numbers_make_different_references(a: int, b: int) -> None:
    for text in (DEFAULT_PATTERN, "{seq}", "{seq:012}", "R{round:02}-{seq:04}"):
        pattern = parse_pattern(text)
        made = {pattern.format(campaign="tp", year=2012, seq=n) for n in (a, b)}
        assert len(made) == len({a, b})
