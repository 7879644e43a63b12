"""Language, country and region codes."""

from __future__ import annotations


def test_iso_639_1_list_matches_pycountry():
    import pycountry

    from outreach.directory import ISO_639_1, parse_language

    assert {lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2")} == ISO_639_1
    assert [parse_language(v) for v in ("FR", "fra", "French", "ar")] == ["fr", "fr", "fr", "ar"]
