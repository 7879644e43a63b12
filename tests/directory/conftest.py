"""Fixtures of the directory tests."""

from ._fixtures import directory, filled, orgs  # noqa: F401
